package mattermosttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Click does what the Mattermost server does when u clicks the action
// actionID of a post: POST the clicker, the channel, the post and the
// action's integration context to the integration URL, then apply the
// answer's update to the post. It returns the integration's HTTP status.
func (s *Server) Click(u *User, postID, actionID string) (int, error) {
	s.mu.Lock()
	p := s.posts[postID]
	if p == nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("mattermosttest: no post %s", postID)
	}
	c := s.channels[p.ChannelID]
	var integration map[string]any
	atts, _ := clonePost(p).Props["attachments"].([]any)
	for _, a := range atts {
		m, _ := a.(map[string]any)
		actions, _ := m["actions"].([]any)
		for _, ac := range actions {
			am, _ := ac.(map[string]any)
			if am["id"] == actionID {
				integration, _ = am["integration"].(map[string]any)
			}
		}
	}
	var teamName string
	if t := s.teams[c.TeamID]; t != nil {
		teamName = t.Name
	}
	member := c.members[u.ID]
	s.mu.Unlock()
	if integration == nil {
		return 0, fmt.Errorf("mattermosttest: post %s has no action %q", postID, actionID)
	}
	if !member {
		return 0, fmt.Errorf("mattermosttest: %s is not in the channel of post %s", u.Username, postID)
	}
	url, _ := integration["url"].(string)
	body := map[string]any{
		"user_id": u.ID, "user_name": u.Username, "channel_id": c.ID, "channel_name": c.Name,
		"team_id": c.TeamID, "team_domain": teamName, "post_id": postID, "trigger_id": NewID(),
		"type": "", "data_source": "", "context": integration["context"],
	}
	return s.postAction(url, body, postID)
}

// SendAction POSTs an arbitrary action request to url (a forged click, for tests).
func (s *Server) SendAction(url string, body map[string]any) (int, error) {
	return s.postAction(url, body, "")
}

func (s *Server) postAction(url string, body map[string]any, postID string) (int, error) {
	b, _ := json.Marshal(body)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("mattermosttest: action request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || postID == "" {
		return resp.StatusCode, nil
	}
	var answer struct {
		Update *struct {
			Message *string        `json:"message"`
			Props   map[string]any `json:"props"`
		} `json:"update"`
		EphemeralText string `json:"ephemeral_text"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return resp.StatusCode, fmt.Errorf("mattermosttest: action answer: %w", err)
	}
	if u := answer.Update; u != nil {
		s.mu.Lock()
		p := s.posts[postID]
		if u.Message != nil {
			p.Message = *u.Message
		}
		if u.Props != nil {
			p.Props = u.Props
		}
		s.mu.Unlock()
	}
	return resp.StatusCode, nil
}

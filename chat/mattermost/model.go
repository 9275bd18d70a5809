package mattermost

import "encoding/json"

// The parts of Mattermost's API v4 models the adapter reads and writes
// (server/public/model in the Mattermost repository: Post, User, Channel,
// WebSocketEvent, SlackAttachment, PostAction, PostActionIntegrationRequest
// and …Response, AppError).

type user struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	IsBot    bool   `json:"is_bot"`
}

type team struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type channel struct {
	ID          string `json:"id"`
	TeamID      string `json:"team_id"`
	Type        string `json:"type"` // O open, P private, D direct, G group
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

type post struct {
	ID        string         `json:"id,omitempty"`
	CreateAt  int64          `json:"create_at,omitempty"`
	UserID    string         `json:"user_id,omitempty"`
	ChannelID string         `json:"channel_id"`
	RootID    string         `json:"root_id,omitempty"`
	Message   string         `json:"message"`
	Type      string         `json:"type,omitempty"`
	Props     map[string]any `json:"props,omitempty"`
	FileIDs   []string       `json:"file_ids,omitempty"`
}

// patch is PUT /posts/{id}/patch's body: only the fields set change.
type patch struct {
	Message *string        `json:"message,omitempty"`
	Props   map[string]any `json:"props,omitempty"`
}

// attachment is a message attachment (Slack-compatible).
type attachment struct {
	Fallback   string             `json:"fallback,omitempty"`
	Color      string             `json:"color,omitempty"`
	Text       string             `json:"text,omitempty"`
	Title      string             `json:"title,omitempty"`
	TitleLink  string             `json:"title_link,omitempty"`
	Fields     []attachmentField  `json:"fields,omitempty"`
	ImageURL   string             `json:"image_url,omitempty"`
	Actions    []attachmentAction `json:"actions,omitempty"`
	Footer     string             `json:"footer,omitempty"`
	AuthorName string             `json:"author_name,omitempty"`
}

type attachmentField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

type attachmentAction struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Type        string            `json:"type,omitempty"` // "button"
	Style       string            `json:"style,omitempty"`
	Integration actionIntegration `json:"integration"`
}

type actionIntegration struct {
	URL     string         `json:"url"`
	Context map[string]any `json:"context,omitempty"`
}

// actionRequest is what the Mattermost server POSTs to an action's URL when
// a user clicks it.
type actionRequest struct {
	UserID      string         `json:"user_id"`
	UserName    string         `json:"user_name"`
	ChannelID   string         `json:"channel_id"`
	ChannelName string         `json:"channel_name"`
	TeamID      string         `json:"team_id"`
	TeamName    string         `json:"team_domain"`
	PostID      string         `json:"post_id"`
	TriggerID   string         `json:"trigger_id"`
	Type        string         `json:"type"`
	DataSource  string         `json:"data_source"`
	Context     map[string]any `json:"context"`
}

// actionResponse is the answer to an actionRequest: an optional update of
// the post and a text only the clicker sees.
type actionResponse struct {
	Update        *patch `json:"update,omitempty"`
	EphemeralText string `json:"ephemeral_text,omitempty"`
}

type reaction struct {
	UserID    string `json:"user_id"`
	PostID    string `json:"post_id"`
	EmojiName string `json:"emoji_name"`
}

type fileUploadResponse struct {
	FileInfos []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"file_infos"`
}

// appError is the body of every API error.
type appError struct {
	ID         string `json:"id"`
	Message    string `json:"message"`
	StatusCode int    `json:"status_code"`
}

// wsEvent is one WebSocket event; Seq counts the events of one connection.
type wsEvent struct {
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Broadcast struct {
		ChannelID string `json:"channel_id"`
		UserID    string `json:"user_id"`
		TeamID    string `json:"team_id"`
	} `json:"broadcast"`
	Seq int64 `json:"seq"`
}

// postedData is the data of a "posted" event; the post is JSON in a string.
type postedData struct {
	ChannelDisplayName string `json:"channel_display_name"`
	ChannelName        string `json:"channel_name"`
	ChannelType        string `json:"channel_type"`
	Post               string `json:"post"`
	SenderName         string `json:"sender_name"`
	TeamID             string `json:"team_id"`
}

type helloData struct {
	ConnectionID  string `json:"connection_id"`
	ServerVersion string `json:"server_version"`
}

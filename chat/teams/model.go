package teams

import "encoding/json"

// The parts of the Bot Framework Activity schema the adapter reads and
// writes (Bot Framework REST API reference: Activity, ChannelAccount,
// ConversationAccount, Entity, Attachment, ResourceResponse), with Teams'
// channelData.

type activity struct {
	Type             string               `json:"type"`
	ID               string               `json:"id,omitempty"`
	Timestamp        string               `json:"timestamp,omitempty"`
	ServiceURL       string               `json:"serviceUrl,omitempty"`
	ChannelID        string               `json:"channelId,omitempty"`
	From             *channelAccount      `json:"from,omitempty"`
	Conversation     *conversationAccount `json:"conversation,omitempty"`
	Recipient        *channelAccount      `json:"recipient,omitempty"`
	TextFormat       string               `json:"textFormat,omitempty"`
	Text             string               `json:"text,omitempty"`
	Summary          string               `json:"summary,omitempty"`
	Attachments      []cardAttachment     `json:"attachments,omitempty"`
	Entities         []entity             `json:"entities,omitempty"`
	ReplyToID        string               `json:"replyToId,omitempty"`
	Value            json.RawMessage      `json:"value,omitempty"`
	ChannelData      *channelData         `json:"channelData,omitempty"`
	Name             string               `json:"name,omitempty"`
	AttachmentLayout string               `json:"attachmentLayout,omitempty"`
}

type channelAccount struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	AADObjectID string `json:"aadObjectId,omitempty"`
	Role        string `json:"role,omitempty"`
}

type conversationAccount struct {
	ID               string `json:"id"`
	Name             string `json:"name,omitempty"`
	IsGroup          bool   `json:"isGroup,omitempty"`
	ConversationType string `json:"conversationType,omitempty"` // personal, groupChat, channel
	TenantID         string `json:"tenantId,omitempty"`
}

type entity struct {
	Type      string          `json:"type"`
	Mentioned *channelAccount `json:"mentioned,omitempty"`
	Text      string          `json:"text,omitempty"`
}

type cardAttachment struct {
	ContentType string `json:"contentType"`
	Content     any    `json:"content"`
}

type channelData struct {
	TeamsChannelID string `json:"teamsChannelId,omitempty"`
	TeamsTeamID    string `json:"teamsTeamId,omitempty"`
	Channel        *struct {
		ID   string `json:"id"`
		Name string `json:"name,omitempty"`
	} `json:"channel,omitempty"`
	Team *struct {
		ID   string `json:"id"`
		Name string `json:"name,omitempty"`
	} `json:"team,omitempty"`
	Tenant *struct {
		ID string `json:"id"`
	} `json:"tenant,omitempty"`
}

type resourceResponse struct {
	ID string `json:"id"`
}

// tokenResponse is the OAuth 2.0 token endpoint's answer.
type tokenResponse struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	AccessToken string `json:"access_token"`
}

// errorResponse is the connector's (and the login's) error body.
type errorResponse struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

package xmpp

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"strings"
)

// Namespaces the adapter speaks.
const (
	nsMUC        = "http://jabber.org/protocol/muc"
	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"
	nsPing       = "urn:xmpp:ping"
	nsCorrection = "urn:xmpp:message-correct:0"
	nsSID        = "urn:xmpp:sid:0"
	nsStanzas    = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// newID returns a fresh, unique stanza id.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "ob-" + hex.EncodeToString(b[:])
}

// esc escapes s for XML text or a quoted attribute; characters XML cannot
// carry become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// messageStanza is a message with id (repeated as the XEP-0359 origin-id),
// correcting the message replaces when that is set (XEP-0308).
func messageStanza(to, typ, id, body, replaces string) string {
	var b strings.Builder
	b.WriteString("<message to='" + esc(to) + "' type='" + typ + "' id='" + esc(id) + "'>")
	b.WriteString("<body>" + esc(body) + "</body>")
	b.WriteString("<origin-id xmlns='" + nsSID + "' id='" + esc(id) + "'/>")
	if replaces != "" {
		b.WriteString("<replace xmlns='" + nsCorrection + "' id='" + esc(replaces) + "'/>")
	}
	b.WriteString("</message>")
	return b.String()
}

// joinStanza asks to enter a room as nick, without history (XEP-0045 7.2).
func joinStanza(room, nick, password string) string {
	var b strings.Builder
	b.WriteString("<presence to='" + esc(room+"/"+nick) + "' id='" + newID() + "'>")
	b.WriteString("<x xmlns='" + nsMUC + "'><history maxchars='0'/>")
	if password != "" {
		b.WriteString("<password>" + esc(password) + "</password>")
	}
	b.WriteString("</x></presence>")
	return b.String()
}

func pingStanza(to, id string) string {
	return "<iq type='get' to='" + esc(to) + "' id='" + esc(id) + "'><ping xmlns='" + nsPing + "'/></iq>"
}

func discoStanza(to, id string) string {
	return "<iq type='get' to='" + esc(to) + "' id='" + esc(id) + "'><query xmlns='" + nsDiscoInfo + "'/></iq>"
}

// discoResult answers a disco#info query about the bot.
func discoResult(to, id string) string {
	var b strings.Builder
	b.WriteString("<iq type='result' to='" + esc(to) + "' id='" + esc(id) + "'><query xmlns='" + nsDiscoInfo + "'>")
	b.WriteString("<identity category='client' type='bot' name='opsbot'/>")
	for _, f := range []string{nsDiscoInfo, nsPing, nsMUC} {
		b.WriteString("<feature var='" + f + "'/>")
	}
	b.WriteString("</query></iq>")
	return b.String()
}

// iqError refuses a request the bot does not serve (RFC 6120 8.4).
func iqError(to, id string) string {
	return "<iq type='error' to='" + esc(to) + "' id='" + esc(id) + "'><error type='cancel'>" +
		"<service-unavailable xmlns='" + nsStanzas + "'/></error></iq>"
}

// queryNamespace is the namespace of a marshalled IQ payload, or "".
func queryNamespace(q []byte) string {
	d := xml.NewDecoder(strings.NewReader(string(q)))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Space
		}
	}
}

// firstElement is the local name of the first element in inner XML (a
// stanza error's condition), or "".
func firstElement(inner string) string {
	d := xml.NewDecoder(strings.NewReader(inner))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

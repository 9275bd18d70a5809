package xmpp

import "strings"

// bare is a JID without its resource.
func bare(jid string) string {
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		return jid[:i]
	}
	return jid
}

// resource is the part of a JID after the first "/", or "".
func resource(jid string) string {
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		return jid[i+1:]
	}
	return ""
}

// normBare is a bare JID as compared: local part and domain are
// case-insensitive (a simplification of nodeprep and nameprep).
func normBare(jid string) string { return strings.ToLower(bare(jid)) }

// domain is the domain part of a JID.
func domain(jid string) string {
	b := bare(jid)
	if i := strings.IndexByte(b, '@'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// local is the local part of a JID, or "".
func local(jid string) string {
	b := bare(jid)
	if i := strings.IndexByte(b, '@'); i >= 0 {
		return b[:i]
	}
	return ""
}

// validBareJID reports whether s is local@domain with no resource and no
// character a local part or domain may not hold.
func validBareJID(s string) bool {
	l, d, ok := strings.Cut(s, "@")
	return ok && l != "" && d != "" && !strings.ContainsAny(l, "\"&'/:<>@ ") && !strings.ContainsAny(d, "/@ :")
}

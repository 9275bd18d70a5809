package event

import (
	"crypto/rand"
	"encoding/binary"
	"regexp"
	"time"
)

// crockford is Crockford's base32 alphabet, as ULIDs use it: no I, L, O, U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a ULID-like identifier: 26 characters, the first 10 the
// unix milliseconds of t, the other 16 random (80 bits). IDs sort roughly
// by time; the log's sequence number, not the ID, is the stream's order.
func NewID(t time.Time) string {
	var b [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand panics instead)
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	// 128 bits as 26 base32 digits: the first digit carries 3 bits.
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

var idPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// ValidID reports whether id may name an event: 1 to 64 letters, digits,
// '_' or '-'. A sender that sets the ID makes its retries idempotent.
func ValidID(id string) bool { return idPattern.MatchString(id) }

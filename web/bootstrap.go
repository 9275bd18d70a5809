package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsbot/opsbot/store"
)

// AdminName is the user Bootstrap creates.
const AdminName = "admin"

// Bootstrap creates the first user when the store has none: "admin", in the
// group admins, with the identity web:admin and a random password, which it
// returns for the caller to show once (it is stored only as a bcrypt hash).
// With users present it does nothing and returns ""; so it does when another
// replica sharing the database creates the admin at the same moment.
func Bootstrap(ctx context.Context, st store.Store) (string, error) {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	pw, err := randomPassword(20)
	if err != nil {
		return "", err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	u, err := st.CreateUser(ctx, AdminName)
	if errors.Is(err, store.ErrExists) {
		// Another replica starting at the same time on the same database
		// created it, and shows its password.
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("create admin: %w", err)
	}
	if err := st.SetPasswordHash(ctx, u.ID, string(hash)); err != nil {
		return "", fmt.Errorf("create admin: %w", err)
	}
	if err := st.AddToGroup(ctx, u.ID, "admins"); err != nil {
		return "", fmt.Errorf("create admin: %w", err)
	}
	if err := st.LinkIdentity(ctx, store.Identity{UserID: u.ID, Adapter: Name, ChatID: AdminName, Name: AdminName}); err != nil {
		return "", fmt.Errorf("create admin: %w", err)
	}
	return pw, nil
}

// randomPassword is n characters from an alphabet without look-alikes.
func randomPassword(n int) (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b), nil
}

// Command count prints how many events the store under -data holds (or the
// database -database names): the ingest benchmark's durability check.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/opsbot/opsbot/event/eventsql"
	"github.com/opsbot/opsbot/store/sqlstore"
)

func main() {
	data := flag.String("data", "opsbot-data", "opsbot's data directory")
	db := flag.String("database", "", "database URL (default: SQLite under -data)")
	flag.Parse()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, *db, *data)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer st.Close()
	n, err := eventsql.New(st.DB(), st.Dialect(), nil).Count(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(n)
}

// Command bare is the ingest benchmark's baseline: a bare net/http handler
// that only decodes the event JSON and answers 202, storing nothing.
//
//	go run ./bench/ingest/bare -listen 127.0.0.1:18081
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"

	"github.com/opsbot/opsbot/event"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18081", "address to listen on")
	flag.Parse()
	http.HandleFunc("POST /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		var e event.Event
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string][]string{"ids": {"bare"}})
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}

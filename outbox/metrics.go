package outbox

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	posts       *prometheus.CounterVec
	depth       prometheus.GaugeFunc
	delivery    *prometheus.HistogramVec
	redelivered *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, depth func() float64) *metrics {
	m := &metrics{
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "opsbot", Subsystem: "outbox", Name: "posts_total",
			Help: "Outbox delivery attempts by adapter and result: sent, retried (failed or rate-limited, tried again later), failed (given up).",
		}, []string{"adapter", "result"}),
		depth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "opsbot", Subsystem: "outbox", Name: "depth",
			Help: "Posts in the outbox not yet delivered nor failed (of every process sharing the database).",
		}, depth),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "opsbot", Subsystem: "outbox", Name: "delivery_seconds",
			Help:    "Time from a post's writing to the outbox to its delivery.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 15, 60, 300, 1800},
		}, []string{"adapter"}),
		redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "opsbot", Subsystem: "outbox", Name: "redelivered_total",
			Help: "Posts taken over from a delivery that was cut short (a crash): they may appear twice in the chat.",
		}, []string{"adapter"}),
	}
	if reg != nil {
		reg.MustRegister(m.posts, m.depth, m.delivery, m.redelivered)
	}
	return m
}

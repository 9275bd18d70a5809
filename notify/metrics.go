package notify

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	posts      *prometheus.CounterVec
	suppressed *prometheus.CounterVec
	actions    *prometheus.CounterVec
	events     prometheus.Counter
	errors     prometheus.Counter
	groups     prometheus.Gauge
	cursor     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "opsbot", Subsystem: "notify", Name: "posts_total",
			Help: "Notifications handed to the outbox, by route and kind (event, group, resolved, throttled, action_refused)."}, []string{"route", "kind"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "opsbot", Subsystem: "notify", Name: "suppressed_total",
			Help: "Notifications not posted, by route and reason (throttled, muted, duplicate, no_room)."}, []string{"route", "reason"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "opsbot", Subsystem: "notify", Name: "actions_total",
			Help: "Route actions, by route and outcome (ok, error, refused)."}, []string{"route", "outcome"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "opsbot", Subsystem: "notify", Name: "events_total",
			Help: "Events read from the event log and routed."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "opsbot", Subsystem: "notify", Name: "errors_total",
			Help: "Failed pipeline steps (retried from the stored cursor)."}),
		groups: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "opsbot", Subsystem: "notify", Name: "groups_active",
			Help: "Aggregation groups open (firing or waiting to post resolved)."}),
		cursor: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "opsbot", Subsystem: "notify", Name: "cursor",
			Help: "Sequence number of the last event routed."}),
	}
	if reg != nil {
		reg.MustRegister(m.posts, m.suppressed, m.actions, m.events, m.errors, m.groups, m.cursor)
	}
	return m
}

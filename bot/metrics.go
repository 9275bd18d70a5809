package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	commands *prometheus.CounterVec
	dispatch prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "opsbot", Name: "commands_total",
			Help: "Commands handled, by command name and outcome (ok, error, denied, unknown, pending, expired, invalid).",
		}, []string{"command", "outcome"}),
		dispatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "opsbot", Name: "dispatch_seconds",
			Help:    "Time from a message's arrival to the decision (match, identity, authorisation), before the handler runs.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.commands, m.dispatch)
	}
	return m
}

func (m *metrics) count(cmd, outcome string) { m.commands.WithLabelValues(cmd, outcome).Inc() }

func (m *metrics) observe(d time.Duration) { m.dispatch.Observe(d.Seconds()) }

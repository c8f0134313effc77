package rest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rlnd/rlnd/internal/promutil"
)

// metrics are the REST API's.
type metrics struct {
	// refused counts requests turned away because MaxInFlight were in
	// progress.
	refused prometheus.Counter
	// dropped counts relayed messages a full topic cache dropped (its
	// oldest).
	dropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "rlnd_rest_refused_total",
			Help: "REST requests refused with 503 because too many were in progress."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "rlnd_rest_cache_dropped_total",
			Help: "Relayed messages dropped from a full REST topic cache before they were fetched (the oldest go)."}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.refused, err = promutil.Register(reg, m.refused); err != nil {
		return nil, err
	}
	if m.dropped, err = promutil.Register(reg, m.dropped); err != nil {
		return nil, err
	}
	return m, nil
}

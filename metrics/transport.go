package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// InstrumentTransport counts and times every attempt sent through next and
// records the rate budget Help Scout reports. It sits below the retry layer
// so that each retry shows up, as each one costs budget.
func (m *Instruments) InstrumentTransport(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(req)
		m.HelpScoutRequestDuration.WithLabelValues(req.Method).Observe(time.Since(start).Seconds())
		if err != nil {
			m.HelpScoutRequests.WithLabelValues(req.Method, "error").Inc()
			return nil, err
		}
		m.HelpScoutRequests.WithLabelValues(req.Method, strconv.Itoa(resp.StatusCode)).Inc()
		if v := resp.Header.Get("X-RateLimit-Remaining-Minute"); v != "" {
			if n, err := strconv.Atoi(v); err == nil {
				m.HelpScoutRateRemaining.Set(float64(n))
			}
		}
		return resp, nil
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

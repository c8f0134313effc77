package rest

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// ServedRoutes lists the routes s serves, each as "METHOD /path" with
// chi's (and OpenAPI's) {param} syntax, for the tests that hold the
// OpenAPI document to the router.
func ServedRoutes(s *Server) ([]string, error) {
	routes, ok := s.srv.Handler.(chi.Routes)
	if !ok {
		return nil, fmt.Errorf("the server's handler is a %T, not a chi router", s.srv.Handler)
	}
	var out []string
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, method+" "+route)
		return nil
	})
	return out, err
}

// WritePush is writePush, for the test that holds every lightpush v3
// answer to the OpenAPI document.
var WritePush = writePush

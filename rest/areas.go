package rest

import "github.com/go-chi/chi/v5"

// routeAreas adds the light protocols' routes: lightpush, filter, store.
func (s *Server) routeAreas(r chi.Router) {
	s.routeFilter(r)
	s.routeStore(r)
	s.routeLightpush(r)
}

// closeAreas stops what the light protocols' routes keep running.
func (s *Server) closeAreas() {
	s.closeFilter()
}

package rest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// originPolicy is nwaku's --rest-allow-origin: which browser origins may
// call the API. A request from another origin gets 403; one with several
// Origin headers 400. Preflights (OPTIONS) are answered 200.
type originPolicy struct {
	any   bool           // "*"
	match *regexp.Regexp // nil: no policy (no CORS headers)
}

// newOriginPolicy compiles the allowed origins: "*" allows any; otherwise
// each is an origin with an optional scheme (none: http or https), where *
// stands for any run of characters and ? for at most one.
func newOriginPolicy(origins []string) (*originPolicy, error) {
	p := &originPolicy{}
	var exprs []string
	for _, list := range origins {
		for o := range strings.SplitSeq(list, ",") {
			o = strings.TrimSpace(o)
			switch {
			case o == "":
				continue
			case o == "*":
				p.any = true
				continue
			case strings.ContainsAny(o, " \t/") && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://"):
				return nil, fmt.Errorf("rest: allowed origin %q: want an origin such as https://app.example or *.example:3000", o)
			}
			scheme := `https?://`
			switch {
			case strings.HasPrefix(o, "http://"):
				scheme, o = `http://`, o[len("http://"):]
			case strings.HasPrefix(o, "https://"):
				scheme, o = `https://`, o[len("https://"):]
			}
			e := regexp.QuoteMeta(o)
			e = strings.ReplaceAll(e, `\*`, `.*`)
			e = strings.ReplaceAll(e, `\?`, `.?`)
			exprs = append(exprs, "^"+scheme+e+"$")
		}
	}
	if len(exprs) > 0 {
		re, err := regexp.Compile("(?i)" + strings.Join(exprs, "|"))
		if err != nil {
			return nil, fmt.Errorf("rest: allowed origins: %w", err)
		}
		p.match = re
	}
	return p, nil
}

// middleware applies the policy, and answers preflights.
func (p *originPolicy) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origins := r.Header.Values("Origin")
		switch {
		case !p.any && p.match == nil, len(origins) == 0:
		case len(origins) > 1:
			writeText(w, http.StatusBadRequest, "Only a single Origin header must be specified")
			return
		case p.any:
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		case p.match.MatchString(origins[0]):
			w.Header().Add("Vary", "Origin")
			w.Header().Set("Access-Control-Allow-Origin", origins[0])
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		default:
			writeText(w, http.StatusForbidden, "Origin not allowed")
			return
		}
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			ok(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

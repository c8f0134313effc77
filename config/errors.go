package config

import (
	"fmt"
	"strings"
)

// problem is one configuration error. Its text is exactly the message, and it
// unwraps to ErrInvalid and, when there is one, to the underlying cause.
type problem struct {
	msg   string
	cause error
}

func (p *problem) Error() string { return p.msg }

func (p *problem) Unwrap() []error {
	if p.cause == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, p.cause}
}

// problemf builds a problem whose message is "config: " followed by the
// formatted text. cause may be nil.
func problemf(cause error, format string, args ...any) error {
	return &problem{msg: "config: " + fmt.Sprintf(format, args...), cause: cause}
}

// joinNames lists names separated by commas.
func joinNames(names []string) string {
	return strings.Join(names, ", ")
}

// show renders a raw value for an error message: strings quoted, everything
// else as fmt prints it.
func show(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%v", v)
}

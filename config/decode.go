package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// valueError is a failure to decode one raw value. index is the position of
// the offending list element, or -1 when the whole value is at fault.
type valueError struct {
	index int
	msg   string
}

// text is the message, prefixed with the element position for lists.
func (e *valueError) text() string {
	if e.index >= 0 {
		return fmt.Sprintf("element %d: %s", e.index, e.msg)
	}
	return e.msg
}

func wholeValue(format string, args ...any) *valueError {
	return &valueError{index: -1, msg: fmt.Sprintf(format, args...)}
}

// decodeInto converts raw and stores it in ptr, the key's field. raw comes
// from a parsed file (string, bool, integer and float types, []any, nil) or
// from the environment or a flag (string, []string). Empty lists are stored as
// nil so that configurations compare equal however they were built.
func decodeInto(k keySpec, ptr any, raw any) *valueError {
	switch p := ptr.(type) {
	case *string:
		switch v := raw.(type) {
		case nil:
			*p = ""
		case string:
			if k.normalize != nil && strings.TrimSpace(v) != "" {
				n, err := k.normalize(*p, v)
				if err != nil {
					return wholeValue("%v", err)
				}
				v = n
			}
			*p = v
		default:
			return wholeValue("%s is not a string; quote the value", show(raw))
		}
	case *bool:
		b, err := decodeBool(raw)
		if err != nil {
			return err
		}
		*p = b
	case *int:
		n, err := decodeInt(raw, k.allowed, math.MinInt, math.MaxInt)
		if err != nil {
			return err
		}
		*p = int(n.signed())
	case *uint16:
		n, err := decodeInt(raw, k.allowed, 0, math.MaxUint16)
		if err != nil {
			return err
		}
		*p = uint16(n.abs)
	case *uint64:
		n, err := decodeInt(raw, k.allowed, 0, math.MaxUint64)
		if err != nil {
			return err
		}
		*p = n.abs
	case *time.Duration:
		d, err := decodeDuration(raw)
		if err != nil {
			return err
		}
		*p = d
	case *[]int:
		items, err := decodeList(raw, "integers")
		if err != nil {
			return err
		}
		var out []int
		for i, item := range items {
			n, err := decodeInt(item, k.allowed, math.MinInt, math.MaxInt)
			if err != nil {
				err.index = i
				return err
			}
			out = append(out, int(n.signed()))
		}
		*p = out
	case *[]string:
		items, err := decodeList(raw, "strings")
		if err != nil {
			return err
		}
		var out []string
		for i, item := range items {
			s, ok := item.(string)
			if !ok {
				return &valueError{index: i, msg: fmt.Sprintf("%s is not a string; quote the value", show(item))}
			}
			out = append(out, s)
		}
		*p = out
	default:
		// The key table and this switch are kept in step by the tests.
		panic(fmt.Sprintf("config: key %s has unsupported field type %T", k.name, ptr))
	}
	return nil
}

func decodeBool(raw any) (bool, *valueError) {
	switch v := raw.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b, nil
		}
	}
	return false, wholeValue("%s is not a boolean, allowed true|false", show(raw))
}

func decodeDuration(raw any) (time.Duration, *valueError) {
	switch v := raw.(type) {
	case time.Duration:
		return v, nil
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(v)); err == nil {
			return d, nil
		}
	}
	return 0, wholeValue("%s is not a duration (e.g. 600s, 10m)", show(raw))
}

// decodeList splits raw into its elements. A string is a comma-separated
// list, and an empty or blank string (or null) is the empty list.
func decodeList(raw any, of string) ([]any, *valueError) {
	switch v := raw.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		parts := strings.Split(v, ",")
		out := make([]any, len(parts))
		for i, part := range parts {
			out[i] = strings.TrimSpace(part)
		}
		return out, nil
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out, nil
	case []any:
		return v, nil
	}
	return nil, wholeValue("%s is not a list of %s", show(raw), of)
}

// integer is a whole number held as sign and magnitude so that the full
// ranges of both int64 and uint64 fit.
type integer struct {
	neg bool
	abs uint64
}

func (n integer) signed() int64 {
	if n.neg && n.abs != 0 {
		return -int64(n.abs-1) - 1
	}
	return int64(n.abs)
}

func (n integer) String() string {
	s := strconv.FormatUint(n.abs, 10)
	if n.neg && n.abs != 0 {
		return "-" + s
	}
	return s
}

// decodeInt reads a whole number from raw and checks it lies in lo..hi, the
// range of the field's Go type; allowed describes the key's valid values for
// the error message.
func decodeInt(raw any, allowed string, lo int64, hi uint64) (integer, *valueError) {
	n, shown, err := parseInteger(raw)
	switch {
	case errors.Is(err, strconv.ErrSyntax):
		return integer{}, wholeValue("%s is not an integer", show(raw))
	case errors.Is(err, strconv.ErrRange):
		return integer{}, wholeValue("%s is out of range, allowed %s", shown, allowed)
	}
	inRange := n.abs <= hi
	if n.neg && n.abs != 0 {
		inRange = lo < 0 && n.abs <= uint64(-(lo+1))+1
	}
	if !inRange {
		return integer{}, wholeValue("%s is out of range, allowed %s", n, allowed)
	}
	return n, nil
}

// parseInteger converts raw to an integer. It fails with strconv.ErrSyntax
// when raw is not a whole number and with strconv.ErrRange when it does not
// fit in 64 bits; shown is raw as it should appear in a range error.
func parseInteger(raw any) (integer, string, error) {
	rv := reflect.ValueOf(raw)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i := rv.Int()
		if i < 0 {
			return integer{neg: true, abs: uint64(-(i + 1)) + 1}, "", nil
		}
		return integer{abs: uint64(i)}, "", nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return integer{abs: rv.Uint()}, "", nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
			return integer{}, "", strconv.ErrSyntax
		}
		if math.Abs(f) >= math.Exp2(64) {
			return integer{}, fmt.Sprint(f), strconv.ErrRange
		}
		return integer{neg: f < 0, abs: uint64(math.Abs(f))}, "", nil
	case reflect.String:
		s := strings.TrimSpace(rv.String())
		digits, neg := strings.CutPrefix(s, "-")
		if !neg {
			digits = strings.TrimPrefix(digits, "+")
		}
		u, err := strconv.ParseUint(digits, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return integer{}, s, strconv.ErrRange
			}
			return integer{}, "", strconv.ErrSyntax
		}
		return integer{neg: neg, abs: u}, "", nil
	}
	return integer{}, "", strconv.ErrSyntax
}

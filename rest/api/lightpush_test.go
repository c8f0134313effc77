package api

import (
	"bytes"
	"testing"

	"github.com/rlnd/rlnd/wire"
)

// FuzzPushRequest: any body decodes into a PushRequest or is refused; a
// message it carries either converts to a WakuMessage that passes
// wire.CheckMessage and converts back to the same message, or is refused
// with ErrBadMessage.
func FuzzPushRequest(f *testing.F) {
	f.Add([]byte(`{"pubsubTopic":"/waku/2/rs/1/0","message":{"payload":"aGk=","contentTopic":"/a/1/b/proto","timestamp":5,"meta":"AQ==","proof":"cA=="}}`))
	f.Add([]byte(`{"message":{"payload":"aGk","contentTopic":"/a/1/b/proto","version":1,"ephemeral":true}}`))
	f.Add([]byte(`{"message":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req PushRequest
		if err := DecodeJSON(body, &req); err != nil || req.Message == nil {
			return
		}
		m, err := req.Message.ToWaku(1)
		if err != nil {
			return
		}
		if err := wire.CheckMessage(m); err != nil {
			t.Fatalf("%s: converted message fails the wire check: %v", body, err)
		}
		back, err := FromWaku(m).ToWaku(2)
		if err != nil || wire.Hash("t", back) != wire.Hash("t", m) || !bytes.Equal(back.RateLimitProof, m.RateLimitProof) ||
			back.GetEphemeral() != m.GetEphemeral() || back.GetVersion() != m.GetVersion() {
			t.Fatalf("%s: %v does not convert back (%v, %v)", body, m, back, err)
		}
	})
}

package wakuenr

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A libp2p secp256k1 key, converted, signs records whose enode key gives
// back the libp2p key's own peer id.
func TestKeyConversions(t *testing.T) {
	t.Parallel()
	for range 8 {
		priv, pub, err := crypto.GenerateSecp256k1Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		want, err := peer.IDFromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		key, err := ECDSAKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Build(key, 1, LocalRecord{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := PeerID(n.Pubkey())
		if err != nil || got != want {
			t.Fatalf("PeerID(enode key) = %s, %v; want %s", got, err, want)
		}
		back, err := PublicKey(got)
		if err != nil || !back.Equal(n.Pubkey()) {
			t.Fatalf("PublicKey(%s) = %v, %v; want the enode's key", got, back, err)
		}
		if enode.PubkeyToIDV4(back) != n.ID() {
			t.Fatal("node id of the recovered key differs")
		}
	}
}

func TestKeyConversionsRefuseOtherKeys(t *testing.T) {
	t.Parallel()
	edPriv, edPub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ECDSAKey(edPriv); !errors.Is(err, ErrKeyType) {
		t.Errorf("ECDSAKey(ed25519) error %v, want ErrKeyType", err)
	}
	if _, err := ECDSAKey(nil); !errors.Is(err, ErrKeyType) {
		t.Errorf("ECDSAKey(nil) error %v, want ErrKeyType", err)
	}
	edID, err := peer.IDFromPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PublicKey(edID); !errors.Is(err, ErrKeyType) {
		t.Errorf("PublicKey(ed25519 peer) error %v, want ErrKeyType", err)
	}
	if _, err := PeerID(nil); !errors.Is(err, ErrKeyType) {
		t.Errorf("PeerID(nil) error %v, want ErrKeyType", err)
	}
}

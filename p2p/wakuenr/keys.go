package wakuenr

import (
	"crypto/ecdsa"
	"fmt"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ECDSAKey converts a libp2p secp256k1 private key (the node key of a Waku
// node) to the form go-ethereum signs records with. Other key types are
// ErrKeyType.
func ECDSAKey(k crypto.PrivKey) (*ecdsa.PrivateKey, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: no key", ErrKeyType)
	}
	if k.Type() != pb.KeyType_Secp256k1 {
		return nil, fmt.Errorf("%w: key type %s", ErrKeyType, k.Type())
	}
	raw, err := k.Raw()
	if err != nil {
		return nil, fmt.Errorf("wakuenr: read secp256k1 key: %w", err)
	}
	key, err := gethcrypto.ToECDSA(raw)
	if err != nil {
		return nil, fmt.Errorf("wakuenr: convert secp256k1 key: %w", err)
	}
	return key, nil
}

// PeerID is the libp2p peer id of a secp256k1 public key, such as an
// enode's Pubkey().
func PeerID(pub *ecdsa.PublicKey) (peer.ID, error) {
	raw := gethcrypto.FromECDSAPub(pub) // nil for a nil or empty key
	if raw == nil {
		return "", fmt.Errorf("%w: no public key", ErrKeyType)
	}
	pk, err := crypto.UnmarshalSecp256k1PublicKey(raw)
	if err != nil {
		return "", fmt.Errorf("wakuenr: secp256k1 public key: %w", err)
	}
	id, err := peer.IDFromPublicKey(pk)
	if err != nil {
		return "", fmt.Errorf("wakuenr: peer id: %w", err)
	}
	return id, nil
}

// PublicKey is the secp256k1 public key a peer id holds (the inverse of
// PeerID). Peer ids of other key types are ErrKeyType.
func PublicKey(id peer.ID) (*ecdsa.PublicKey, error) {
	pk, err := id.ExtractPublicKey()
	if err != nil {
		return nil, fmt.Errorf("wakuenr: public key of peer %s: %w", id, err)
	}
	if pk.Type() != pb.KeyType_Secp256k1 {
		return nil, fmt.Errorf("%w: peer %s has a %s key", ErrKeyType, id, pk.Type())
	}
	raw, err := pk.Raw()
	if err != nil {
		return nil, fmt.Errorf("wakuenr: public key of peer %s: %w", id, err)
	}
	pub, err := gethcrypto.DecompressPubkey(raw)
	if err != nil {
		return nil, fmt.Errorf("wakuenr: public key of peer %s: %w", id, err)
	}
	return pub, nil
}

package sestest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// The validity of every certificate an SNS makes unless told otherwise:
// wide, so that certificates never expire during a test, and fixed, so
// that nothing depends on the clock.
var (
	notBefore = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2100, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// authority is a root and an intermediate it signed, which issues signing
// certificates, as Amazon's certificate authority does for SNS. Its own
// keys are ECDSA: fast to make.
type authority struct {
	roots        *x509.CertPool
	intermediate *x509.Certificate
	interKey     *ecdsa.PrivateKey
}

func newAuthority(t testing.TB) *authority {
	t.Helper()
	rootKey := ecdsaKey(t)
	interKey := ecdsaKey(t)
	root := createCert(t, &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "sestest Root CA"},
		NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, &rootKey.PublicKey, rootKey)
	inter := createCert(t, &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "sestest RSA 2048 M01"},
		NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, root, &interKey.PublicKey, rootKey)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	return &authority{roots: roots, intermediate: inter, interKey: interKey}
}

// issue returns a PEM signing certificate for pub issued by the
// intermediate, for the DNS names given, valid from notBefore to notAfter,
// that names [IssuerURL] as its issuer's address and does not carry the
// intermediate: SNS serves its certificates alone.
func (a *authority) issue(t testing.TB, pub *rsa.PublicKey, names []string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	cert := createCert(t, &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		DNSNames: names, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IssuingCertificateURL: []string{IssuerURL},
	}, a.intermediate, pub, a.interKey)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// Issue returns a PEM signing certificate for pub, issued by s's
// intermediate for the DNS names given, valid from notBefore to notAfter,
// and naming [IssuerURL] as its issuer's address, as SNS's certificates
// do. Serve it with [SNS.SetCertificate] to test how the parser judges a
// certificate: issued for other names, expired, or for another SNS's key
// (see [SNS.Key]).
func (s *SNS) Issue(t testing.TB, pub *rsa.PublicKey, names []string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	return s.ca.issue(t, pub, names, notBefore, notAfter)
}

// SetCertificate sets what s serves at its certificate URLs: one or more
// PEM certificates, the first being the signing certificate. New sets a
// certificate issued for sns.amazonaws.com, valid from 2000 to 2100.
func (s *SNS) SetCertificate(pemCerts []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certPEM = append([]byte(nil), pemCerts...)
}

// Intermediate returns the certificate that issues s's signing
// certificates, which s serves at [IssuerURL].
func (s *SNS) Intermediate() *x509.Certificate { return s.ca.intermediate }

// Key returns s's signing key, for tests that make certificates of their
// own (a self-signed one, say).
func (s *SNS) Key() *rsa.PrivateKey { return s.key }

// keyPool holds RSA signing keys whose SNS's test has ended.
var keyPool struct {
	mu   sync.Mutex
	free []*rsa.PrivateKey
}

// takeKey returns a key from the pool, or a new one, and gives it back
// when t ends.
func takeKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyPool.mu.Lock()
	var key *rsa.PrivateKey
	if n := len(keyPool.free); n > 0 {
		key, keyPool.free = keyPool.free[n-1], keyPool.free[:n-1]
	}
	keyPool.mu.Unlock()
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatalf("sestest: generating an RSA key: %v", err)
		}
	}
	t.Cleanup(func() {
		keyPool.mu.Lock()
		defer keyPool.mu.Unlock()
		keyPool.free = append(keyPool.free, key)
	})
	return key
}

func ecdsaKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("sestest: generating an ECDSA key: %v", err)
	}
	return k
}

// createCert makes the certificate tmpl describes for pub, signed by
// signer on behalf of parent (tmpl itself when parent is nil).
func createCert(t testing.TB, tmpl, parent *x509.Certificate, pub, signer any) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatalf("sestest: creating a certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("sestest: parsing a certificate: %v", err)
	}
	return cert
}

// serial returns a random certificate serial number.
func serial() *big.Int { return new(big.Int).SetBytes(randomBytes(16)) }

// randomBytes returns n bytes from crypto/rand, which never fails.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

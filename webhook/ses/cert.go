package ses

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook"
)

// maxCertSize bounds a certificate download; SNS's are about 2 KB.
const maxCertSize = 64 << 10

// maxIssuerURLs bounds the issuer addresses tried for one certificate.
const maxIssuerURLs = 2

// signingKey returns the public key of the SNS signing certificate at u,
// from the cache or fetched and verified.
func (p *Parser) signingKey(ctx context.Context, u string) (*rsa.PublicKey, error) {
	if key := p.certs.get(u, time.Now()); key != nil {
		return key, nil
	}
	cert, err := p.fetchSigningCert(ctx, u)
	if err != nil {
		return nil, err
	}
	key := cert.PublicKey.(*rsa.PublicKey)
	p.certs.put(u, key, cert.NotAfter)
	return key, nil
}

// fetchSigningCert fetches the certificate at u and checks that it names
// SNS and chains to the parser's roots. A certificate that fails a check
// is an [webhook.ErrSignature]; a failed fetch is a plain (transient)
// error.
func (p *Parser) fetchSigningCert(ctx context.Context, u string) (*x509.Certificate, error) {
	body, err := p.download(ctx, u, "SNS signing certificate")
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for rest := body; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("ses: %w: SNS signing certificate: %w", webhook.ErrSignature, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("ses: %w: SigningCertURL does not hold a PEM certificate", webhook.ErrSignature)
	}
	leaf := certs[0]
	if _, ok := leaf.PublicKey.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("ses: %w: SNS signing certificate holds a %T, want RSA", webhook.ErrSignature, leaf.PublicKey)
	}
	if !namesSNS(leaf) {
		return nil, fmt.Errorf("ses: %w: signing certificate for %q is not SNS's", webhook.ErrSignature, leaf.DNSNames)
	}
	if err := p.verifyChain(ctx, leaf, certs[1:]); err != nil {
		return nil, err
	}
	return leaf, nil
}

// namesSNS reports whether one of cert's DNS names is one SNS signs as:
// sns.amazonaws.com, or per region sns.<region>, sns-<region> or
// sns-signing.<region> under amazonaws.com (amazonaws.com.cn in China).
// They are not the host the certificate is served from.
func namesSNS(cert *x509.Certificate) bool {
	for _, name := range cert.DNSNames {
		rest, ok := strings.CutSuffix(name, ".amazonaws.com")
		if !ok {
			rest, ok = strings.CutSuffix(name, ".amazonaws.com.cn")
		}
		if !ok {
			continue
		}
		if rest == "sns" {
			return true
		}
		for _, prefix := range [...]string{"sns.", "sns-", "sns-signing."} {
			if r, ok := strings.CutPrefix(rest, prefix); ok && awsRegion.MatchString(r) {
				return true
			}
		}
	}
	return false
}

// verifyChain checks that leaf chains to the parser's roots (the system's
// by default) through the intermediates served with it or, as SNS serves
// its certificate alone, through the issuer the leaf names (its authority
// information access), which it fetches.
func (p *Parser) verifyChain(ctx context.Context, leaf *x509.Certificate, served []*x509.Certificate) error {
	opts := x509.VerifyOptions{
		Roots:         p.roots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	for _, c := range served {
		opts.Intermediates.AddCert(c)
	}
	_, err := leaf.Verify(opts)
	if errors.As(err, new(x509.UnknownAuthorityError)) && len(leaf.IssuingCertificateURL) > 0 {
		for _, u := range leaf.IssuingCertificateURL[:min(len(leaf.IssuingCertificateURL), maxIssuerURLs)] {
			issuers, ferr := p.fetchIssuer(ctx, u)
			if ferr != nil {
				return ferr
			}
			for _, c := range issuers {
				opts.Intermediates.AddCert(c)
			}
		}
		_, err = leaf.Verify(opts)
	}
	var noRoots x509.SystemRootsError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &noRoots):
		return fmt.Errorf("ses: verifying the SNS signing certificate: %w (install the system's CA certificates or use WithRoots)", err)
	}
	return fmt.Errorf("ses: %w: SNS signing certificate: %w", webhook.ErrSignature, err)
}

// fetchIssuer fetches the certificates at an issuer address of a signing
// certificate: DER or PEM, over http or https on the default port.
func (p *Parser) fetchIssuer(ctx context.Context, raw string) ([]*x509.Certificate, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Port() != "" || u.Hostname() == "" {
		return nil, fmt.Errorf("ses: %w: SNS signing certificate names the issuer address %q", webhook.ErrSignature, raw)
	}
	body, err := p.download(ctx, u.String(), "issuer certificate")
	if err != nil {
		return nil, err
	}
	var der []byte
	for rest := body; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			der = append(der, block.Bytes...)
		}
	}
	if der == nil {
		der = body
	}
	certs, err := x509.ParseCertificates(der)
	if err != nil {
		return nil, fmt.Errorf("ses: %w: issuer certificate at %s: %w", webhook.ErrSignature, u, err)
	}
	return certs, nil
}

// download GETs u with the parser's client, at most maxCertSize bytes. A
// 4xx answer or a body over the limit is an [webhook.ErrSignature]; any
// other failure is a plain (transient) error.
func (p *Parser) download(ctx context.Context, u, what string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("ses: %w: %s: %w", webhook.ErrSignature, what, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ses: fetching %s: %w", what, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return nil, fmt.Errorf("ses: %w: %s %s: %s", webhook.ErrSignature, what, u, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("ses: fetching %s %s: %s", what, u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCertSize+1))
	if err != nil {
		return nil, fmt.Errorf("ses: fetching %s: %w", what, err)
	}
	if len(body) > maxCertSize {
		return nil, fmt.Errorf("ses: %w: %s over %d bytes", webhook.ErrSignature, what, maxCertSize)
	}
	return body, nil
}

// certCache keeps the public keys of the verified signing certificates, at
// most max of them (SNS uses one certificate per region at a time, rotated
// rarely), each until its certificate expires; when full, the oldest is
// dropped.
type certCache struct {
	mu    sync.Mutex
	max   int
	keys  map[string]cachedKey
	order []string
}

type cachedKey struct {
	key      *rsa.PublicKey
	notAfter time.Time
}

func newCertCache(max int) *certCache {
	return &certCache{max: max, keys: make(map[string]cachedKey)}
}

// get returns the key of the certificate at u if it is cached and valid at
// now, or nil.
func (c *certCache) get(u string, now time.Time) *rsa.PublicKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.keys[u]; ok && now.Before(k.notAfter) {
		return k.key
	}
	return nil
}

// put caches the key of the certificate at u, valid until notAfter.
func (c *certCache) put(u string, key *rsa.PublicKey, notAfter time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keys[u]; !ok {
		if len(c.order) >= c.max {
			delete(c.keys, c.order[0])
			c.order = append(c.order[:0], c.order[1:]...)
		}
		c.order = append(c.order, u)
	}
	c.keys[u] = cachedKey{key: key, notAfter: notAfter}
}

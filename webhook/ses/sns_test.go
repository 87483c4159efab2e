package ses_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/webhook"
	"github.com/campaignconnector/campaignconnector/webhook/ses"
	"github.com/campaignconnector/campaignconnector/webhook/ses/sestest"
	"github.com/stretchr/testify/require"
)

// TestSigningCertHost: the parser fetches a signing certificate, and
// confirms a subscription, only from SNS's own hosts; look-alikes (S3
// buckets named sns, extra labels, other domains, credentials, ports,
// http) are refused without a request.
func TestSigningCertHost(t *testing.T) {
	const path = "/SimpleNotificationService-0123456789abcdef.pem"
	accepted := []string{
		"https://sns.us-east-1.amazonaws.com" + path,
		"https://sns.eu-west-3.amazonaws.com" + path,
		"https://sns.ap-southeast-7.amazonaws.com" + path,
		"https://sns.us-gov-west-1.amazonaws.com" + path,
		"https://sns.il-central-1.amazonaws.com" + path,
		"https://sns.cn-north-1.amazonaws.com.cn" + path,
		"https://sns.cn-northwest-1.amazonaws.com.cn" + path,
	}
	refused := []string{
		"https://sns.s3.amazonaws.com" + path,           // an S3 bucket named sns
		"https://sns.s3-us-west-2.amazonaws.com" + path, // the same, regional
		"https://sns.s3.us-west-2.amazonaws.com" + path, // virtual-hosted S3
		"https://sns.s3-website-us-east-1.amazonaws.com" + path,
		"https://sns.s3-website.us-east-1.amazonaws.com" + path,
		"https://sns.execute-api.us-east-1.amazonaws.com" + path,
		"https://sns.compute-1.amazonaws.com" + path,
		"https://sns.us-east-1.amazonaws.com.evil.com" + path,
		"https://sns.us-east-1.amazonaws.com.cn" + path, // not a China region
		"https://sns.cn-north-1.amazonaws.com" + path,   // a China region outside China's partition
		"https://evil.sns.us-east-1.amazonaws.com" + path,
		"https://sns.us-east-1.evil.amazonaws.com" + path,
		"https://sns.us-east-1.amazonaws.com." + path,
		"https://sns..amazonaws.com" + path,
		"https://sns.amazonaws.com" + path,
		"https://sns.us-east.amazonaws.com" + path,
		"https://sns.1-east-1.amazonaws.com" + path,
		"https://SNS.US-EAST-1.AMAZONAWS.COM" + path,
		"https://sns.evil.com" + path,
		"https://evil.com/sns.us-east-1.amazonaws.com" + path,
		"https://sns.us-east-1.amazonaws.com@evil.com" + path,
		"https://user@sns.us-east-1.amazonaws.com" + path,
		"https://user:pass@sns.us-east-1.amazonaws.com" + path,
		"https://evil.com\\@sns.us-east-1.amazonaws.com" + path,
		"https://evil.com#@sns.us-east-1.amazonaws.com" + path,
		"https://sns.us-east-1.amazonaws.com:443" + path,
		"https://sns.us-east-1.amazonaws.com:8443" + path,
		"http://sns.us-east-1.amazonaws.com" + path,
		"//sns.us-east-1.amazonaws.com" + path,
		"sns.us-east-1.amazonaws.com" + path,
		"https://sns.us-east-1.amazonaws.com%2eevil.com" + path,
		"https://[::1]" + path,
		"https://127.0.0.1" + path,
		"",
	}
	msg := fixture(t, "open.json")
	for _, u := range accepted {
		t.Run(u, func(t *testing.T) {
			aws := newFakeAWS(t)
			p := newParser(t, aws)
			body := withCertURL(t, msg, u)(aws)
			got, err := p.Parse(request(body), body)
			require.NoError(t, err)
			require.Len(t, got, 1)

			c := &ses.Confirmation{SubscribeURL: u + "?Action=ConfirmSubscription&TopicArn=" + topic}
			require.NoError(t, c.Confirm(context.Background(), aws.client()))
		})
	}
	for _, u := range refused {
		t.Run(u, func(t *testing.T) {
			aws := newFakeAWS(t)
			p := newParser(t, aws)
			body := withCertURL(t, msg, u)(aws)
			got, err := p.Parse(request(body), body)
			require.ErrorIs(t, err, webhook.ErrSignature)
			require.Nil(t, got)

			c := &ses.Confirmation{SubscribeURL: u + "?Action=ConfirmSubscription&TopicArn=" + topic}
			require.Error(t, c.Confirm(context.Background(), aws.client()))
			fetched, confirmed := aws.counts()
			require.Zero(t, fetched+confirmed, "no request made")
		})
	}
}

// TestSigningCertChain: a signing certificate must name SNS and chain to
// the roots, through its issuer, which the parser fetches from the address
// the certificate names when it is not served with it.
func TestSigningCertChain(t *testing.T) {
	now := time.Now()
	valid := func(names ...string) func(*fakeAWS, testing.TB) []byte {
		return func(a *fakeAWS, t testing.TB) []byte {
			return a.sns.Issue(t, &a.sns.Key().PublicKey, names, now.Add(-time.Hour), now.Add(time.Hour))
		}
	}
	tests := []struct {
		name         string
		cert         func(a *fakeAWS, t testing.TB) []byte
		issuerStatus int
		systemRoots  bool // no WithRoots: the test CA is unknown
		ok           bool
		transient    bool
		issuerFetch  bool
	}{
		{name: "issued for sns.amazonaws.com", cert: valid("sns.amazonaws.com"), ok: true, issuerFetch: true},
		{name: "issued for an opt-in region's signing name", cert: valid("sns-signing.ap-east-1.amazonaws.com"), ok: true, issuerFetch: true},
		{name: "issued for GovCloud's signing name", cert: valid("sns-us-gov-west-1.amazonaws.com"), ok: true, issuerFetch: true},
		{name: "issued for China's signing name", cert: valid("sns-cn-north-1.amazonaws.com.cn"), ok: true, issuerFetch: true},
		{name: "issued for the regional host", cert: valid("www.example.com", "sns.us-east-1.amazonaws.com"), ok: true, issuerFetch: true},
		{name: "served with its issuer", ok: true, cert: func(a *fakeAWS, t testing.TB) []byte {
			leaf := valid("sns.amazonaws.com")(a, t)
			return append(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.sns.Intermediate().Raw})...)
		}},
		{name: "self-signed", cert: func(a *fakeAWS, t testing.TB) []byte { return selfSigned(t, a.sns.Key(), "sns.amazonaws.com") }},
		{name: "issued by another CA", cert: func(a *fakeAWS, t testing.TB) []byte {
			return sestest.New(t).Issue(t, &a.sns.Key().PublicKey, []string{"sns.amazonaws.com"}, now.Add(-time.Hour), now.Add(time.Hour))
		}, issuerFetch: true},
		{name: "issued for an S3 bucket named sns", cert: valid("sns.s3.amazonaws.com")},
		{name: "issued for a wildcard", cert: valid("*.amazonaws.com")},
		{name: "issued for another host", cert: valid("www.example.com")},
		{name: "issued for a look-alike domain", cert: valid("sns.amazonaws.com.evil.com")},
		{name: "expired", cert: func(a *fakeAWS, t testing.TB) []byte {
			return a.sns.Issue(t, &a.sns.Key().PublicKey, []string{"sns.amazonaws.com"}, now.Add(-2*time.Hour), now.Add(-time.Hour))
		}},
		{name: "valid only later", cert: func(a *fakeAWS, t testing.TB) []byte {
			return a.sns.Issue(t, &a.sns.Key().PublicKey, []string{"sns.amazonaws.com"}, now.Add(time.Hour), now.Add(2*time.Hour))
		}},
		{name: "issuer not found", cert: valid("sns.amazonaws.com"), issuerStatus: 404, issuerFetch: true},
		{name: "issuer's server down", cert: valid("sns.amazonaws.com"), issuerStatus: 503, transient: true, issuerFetch: true},
		{name: "CA not among the system's roots", cert: valid("sns.amazonaws.com"), systemRoots: true, issuerFetch: true},
	}
	msg := fixture(t, "open.json")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aws := newFakeAWS(t)
			aws.sns.SetCertificate(tc.cert(aws, t))
			aws.issuerStatus = tc.issuerStatus
			var p *ses.Parser
			if tc.systemRoots {
				var err error
				p, err = ses.New(ses.WithHTTPClient(aws.client()), ses.WithClock(clockAt(published)))
				require.NoError(t, err)
			} else {
				p = newParser(t, aws)
			}
			body := aws.sns.Body(t, aws.notification(msg, "2"))
			got, err := p.Parse(request(body), body)
			switch {
			case tc.systemRoots:
				// A signature error, or a plain one on a machine without
				// system roots: never accepted.
				require.Error(t, err)
				require.Nil(t, got)
			case tc.ok:
				require.NoError(t, err)
				require.Len(t, got, 1)
			case tc.transient:
				require.Error(t, err)
				require.NotErrorIs(t, err, webhook.ErrSignature)
			default:
				require.ErrorIs(t, err, webhook.ErrSignature)
			}
			aws.mu.Lock()
			defer aws.mu.Unlock()
			require.Equal(t, tc.issuerFetch, aws.issuerFetches > 0, "issuer fetched")
		})
	}
}

// selfSigned returns a self-signed certificate for key and name.
func selfSigned(t testing.TB, key *rsa.PrivateKey, name string) []byte {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestWithRootsRejectsNil(t *testing.T) {
	p, err := ses.New(ses.WithRoots(nil))
	require.Error(t, err)
	require.Nil(t, p)
}

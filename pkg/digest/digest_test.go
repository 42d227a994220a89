package digest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// test_properly_signs_when_no_previous_signature (aws-cli unit tests).
func TestStringToSignVector(t *testing.T) {
	d := &Digest{DigestEndTime: "a", DigestS3Bucket: "b", DigestS3Object: "c"}
	got := string(StringToSign(d, []byte("abc")))
	want := "a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"
	if got != want {
		t.Errorf("got %q want %q", got, want)
	}
	empty := ""
	d.PreviousDigestSignature = &empty
	if got := string(StringToSign(d, []byte("abc"))); !strings.HasSuffix(got, "15ad\n") {
		t.Errorf("empty previous signature: %q", got)
	}
}

func TestParseKey(t *testing.T) {
	cases := []struct {
		key  string
		want KeyName
		ok   bool
	}{
		{"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2014/08/10/123456789012_CloudTrail-Digest_us-east-1_foo_us-east-1_20140810T010000Z.json.gz",
			KeyName{ChainID: ChainID{Account: "123456789012", SourceRegion: "us-east-1", Trail: "foo", HomeRegion: "us-east-1"}, Stamp: "20140810T010000Z"}, true},
		// the public org-trail example of the spec §2.1
		{"AWSLogs/o-wwwwwwgggg/234567890123/CloudTrail-Digest/ca-central-1/2020/02/14/234567890123_CloudTrail-Digest_ca-central-1_POrgTrail_us-east-1_20200214T001007Z.json.gz",
			KeyName{ChainID: ChainID{OrgID: "o-wwwwwwgggg", Account: "234567890123", SourceRegion: "ca-central-1", Trail: "POrgTrail", HomeRegion: "us-east-1"}, Stamp: "20200214T001007Z"}, true},
		// Control Tower prefix, trail name with "_" and ".", backfill
		{"o-abc1234567/x/AWSLogs/o-abc1234567/111122223333/CloudTrail-Digest/eu-west-1/2026/03/02/111122223333_CloudTrail-Digest_eu-west-1_my_trail.v2_us-east-1_20260302T081500Z_backfill.json.gz",
			KeyName{ChainID: ChainID{Prefix: "o-abc1234567/x", OrgID: "o-abc1234567", Account: "111122223333", SourceRegion: "eu-west-1", Trail: "my_trail.v2", HomeRegion: "us-east-1"}, Stamp: "20260302T081500Z", Backfill: true}, true},
		{"AWSLogs/123456789012/CloudTrail/us-east-1/2014/08/10/123456789012_CloudTrail_us-east-1_20140810T0100Z_abc.json.gz", KeyName{}, false},
		{"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2014/08/11/123456789012_CloudTrail-Digest_us-east-1_foo_us-east-1_20140810T010000Z.json.gz", KeyName{}, false}, // folder ≠ stamp
		{"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2014/08/10/123456789012_CloudTrail-Digest_us-east-1_foo_20140810T010000Z.json.gz", KeyName{}, false},           // no home region
		{"AWSLogs/12345/CloudTrail-Digest/us-east-1/2014/08/10/12345_CloudTrail-Digest_us-east-1_foo_us-east-1_20140810T010000Z.json.gz", KeyName{}, false},
		{"file_backfill_other.json.gz", KeyName{}, false},
		{"", KeyName{}, false},
	}
	for _, tc := range cases {
		got, err := ParseKey(tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.key, err, tc.ok)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, ErrNotDigestKey) {
				t.Errorf("%s: error %v is not ErrNotDigestKey", tc.key, err)
			}
			continue
		}
		got.Time = time.Time{}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.key, got, tc.want)
		}
		// The chain builds the same key back.
		id := got.ChainID
		ts, _ := time.Parse(stampLayout, got.Stamp)
		if k := id.Key(ts); !got.Backfill && k != tc.key {
			t.Errorf("Key() = %s, want %s", k, tc.key)
		}
	}
	if IsBackfillKey("file_backfill_other.json.gz") || !IsBackfillKey("x_backfill.json.gz") {
		t.Error("IsBackfillKey")
	}
}

func TestParseTrailARN(t *testing.T) {
	cases := []struct {
		arn                 string
		home, account, name string
	}{
		{"arn:aws:cloudtrail:us-east-1:123456789012:trail/foo", "us-east-1", "123456789012", "foo"},
		{"arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:trail/a_b.c", "us-gov-west-1", "123456789012", "a_b.c"},
		{"arn:aws:cloudtrail:us-east-1:123456789012:trail/", "", "", ""},
		{"arn:aws:cloudtrail:us-east-1:1234:trail/foo", "", "", ""},
		{"arn:aws:s3:us-east-1:123456789012:trail/foo", "", "", ""},
		{"foo", "", "", ""},
	}
	for _, tc := range cases {
		h, a, n, err := ParseTrailARN(tc.arn)
		if tc.name == "" {
			if err == nil || err.Error() != "Invalid trail ARN provided: "+tc.arn {
				t.Errorf("%s: err %v", tc.arn, err)
			}
			continue
		}
		if err != nil || h != tc.home || a != tc.account || n != tc.name {
			t.Errorf("%s: %s %s %s %v", tc.arn, h, a, n, err)
		}
	}
}

func TestParseUserTime(t *testing.T) {
	cases := []struct{ in, want string }{
		{"2014-08-10T00:00:00Z", "2014-08-10T00:00:00Z"},
		{"2014-08-10T02:00:00+02:00", "2014-08-10T00:00:00Z"}, // converted, not relabelled (aws-cli bug)
		{"2014-08-10T00:00:00-05:00", "2014-08-10T05:00:00Z"},
		{"2014-08-10", "2014-08-10T00:00:00Z"},
		{"2014-08-10 01:02:03", "2014-08-10T01:02:03Z"},
		{"20140810T010203Z", "2014-08-10T01:02:03Z"},
	}
	for _, tc := range cases {
		got, err := ParseUserTime(tc.in)
		if err != nil || DisplayTime(got) != tc.want {
			t.Errorf("%s: %v %v, want %s", tc.in, DisplayTime(got), err, tc.want)
		}
	}
	if _, err := ParseUserTime("foo"); err == nil || err.Error() != "Unable to parse date value: foo" {
		t.Errorf("foo: %v", err)
	}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// failingReader returns data then a read error, like a dropped S3 connection.
type failingReader struct {
	r io.Reader
}

var errDropped = errors.New("connection reset")

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errDropped
	}
	return n, err
}

func TestHashLog(t *testing.T) {
	content := []byte(strings.Repeat(`{"Records":[{"eventName":"x"}]}`, 1000))
	sum := sha256.Sum256(content)
	good := gzipBytes(content)
	cases := []struct {
		name  string
		body  io.Reader
		class Class // "" = valid
		raw   error
	}{
		{"valid", bytes.NewReader(good), "", nil},
		{"trailing-member", bytes.NewReader(append(append([]byte{}, good...), gzipBytes([]byte("forged"))...)), ClassTrailingData, nil},
		{"trailing-garbage", bytes.NewReader(append(append([]byte{}, good...), 0)), ClassTrailingData, nil},
		{"truncated", bytes.NewReader(good[:len(good)/2]), ClassTruncated, nil},
		{"empty", bytes.NewReader(nil), ClassTruncated, nil},
		{"not-gzip", bytes.NewReader(content), ClassInvalidFormat, nil},
		{"corrupt", bytes.NewReader(append(append([]byte{}, good[:20]...), bytes.Repeat([]byte{0xff}, 200)...)), ClassInvalidFormat, nil},
		{"bad-crc", bytes.NewReader(func() []byte {
			b := append([]byte{}, good...)
			b[len(b)-6] ^= 0xff
			return b
		}()), ClassInvalidFormat, nil},
		{"read-error", &failingReader{bytes.NewReader(good[:len(good)/2])}, "", errDropped},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, n, err := HashLog(tc.body)
			switch {
			case tc.raw != nil:
				var ce *CheckError
				if !errors.Is(err, tc.raw) || errors.As(err, &ce) {
					t.Errorf("err %v, want the read error unclassified", err)
				}
			case tc.class == "":
				if err != nil || got != hex.EncodeToString(sum[:]) || n != int64(len(content)) {
					t.Errorf("sum %s n %d err %v", got, n, err)
				}
			default:
				var ce *CheckError
				if !errors.As(err, &ce) || ce.Class != tc.class {
					t.Errorf("err %v, want class %s", err, tc.class)
				}
			}
		})
	}
}

func TestKeysFile(t *testing.T) {
	fk, err := LoadKeysFile("testdata/list-public-keys-cli-example.json")
	if err != nil {
		t.Fatal(err)
	}
	k := fk.AnyRegion[0]
	// aws-cli's documented example: the fingerprint is md5 of the DER bytes, the key PKCS#1 RSA-2048.
	if Fingerprint(k.Value) != "7f3f401420072e50a65a141430817ab3" {
		t.Errorf("fingerprint %s", Fingerprint(k.Value))
	}
	pub, err := ParsePublicKey(k.Value)
	if err != nil || pub.N.BitLen() != 2048 || pub.E != 65537 {
		t.Errorf("key %v %v", pub, err)
	}
	if got := k.ValidityStartTime.Format(time.RFC3339); got != "2016-01-18T00:25:02Z" {
		t.Errorf("validity start %s (epoch seconds)", got)
	}
	keys, _ := fk.PublicKeys(context.Background(), "eu-west-1", time.Time{}, time.Time{})
	if len(keys) != 1 {
		t.Errorf("single-region file must serve every region")
	}

	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	spki, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	b64 := base64.StdEncoding.EncodeToString(spki)
	good := fmt.Sprintf(`{"us-east-1":{"PublicKeyList":[{"Value":%q,"ValidityStartTime":"2020-01-01T00:00:00Z","ValidityEndTime":"2020-01-31T00:00:00+00:00","Fingerprint":%q}]},"eu-west-1":[]}`,
		b64, Fingerprint(spki))
	fk, err = ParseKeysFile("map", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(fk.ByRegion["us-east-1"]) != 1 || len(fk.ByRegion["eu-west-1"]) != 0 {
		t.Errorf("regions %+v", fk.ByRegion)
	}
	bad := strings.Replace(good, Fingerprint(spki), strings.Repeat("0", 32), 1)
	var kfe *KeyFileError
	if _, err := ParseKeysFile("bad", []byte(bad)); !errors.As(err, &kfe) || kfe.Region != "us-east-1" {
		t.Errorf("fingerprint mismatch: %v", err)
	}
	if _, err := ParseKeysFile("junk", []byte(`[1,2]`)); !errors.As(err, &kfe) {
		t.Errorf("junk: %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	msg := []byte("a\nb/c\nd\nnull")
	h := sha256.Sum256(msg)
	sig, _ := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, h[:])
	hexSig := hex.EncodeToString(sig)
	cases := []struct {
		sig   string
		class Class
		msg   string
	}{
		{hexSig, "", ""},
		{strings.ToUpper(hexSig), "", ""},
		{hexSig[:10] + "0" + hexSig[11:], ClassSignature, "signature verification failed"},
		{hexSig[1:], ClassMalformedSig, "Odd-length string"},
		{"zz" + hexSig[2:], ClassMalformedSig, "Non-hexadecimal digit found"},
	}
	for i, tc := range cases {
		if hexSig[10] == '0' && i == 2 {
			tc.sig = hexSig[:10] + "1" + hexSig[11:]
		}
		ce := VerifySignature(&priv.PublicKey, msg, tc.sig)
		switch {
		case tc.class == "" && ce != nil:
			t.Errorf("case %d: %v", i, ce)
		case tc.class != "" && (ce == nil || ce.Class != tc.class || ce.Msg != tc.msg):
			t.Errorf("case %d: %v, want %s %q", i, ce, tc.class, tc.msg)
		}
	}
}

// TestCloudTrailKeysPaginates: ListPublicKeys pages are all read (aws-cli reads only the first).
func TestCloudTrailKeysPaginates(t *testing.T) {
	var mu sync.Mutex
	var tokens []string
	der := make([][]byte, 2)
	for i := range der {
		p, _ := rsa.GenerateKey(rand.Reader, 2048)
		der[i] = x509.MarshalPKCS1PublicKey(&p.PublicKey)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ NextToken string }
		json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		tokens = append(tokens, in.NextToken)
		mu.Unlock()
		page := map[string]any{}
		i := 0
		if in.NextToken == "page2" {
			i = 1
		} else {
			page["NextToken"] = "page2"
		}
		page["PublicKeyList"] = []map[string]any{{"Value": base64.StdEncoding.EncodeToString(der[i]), "Fingerprint": Fingerprint(der[i]),
			"ValidityStartTime": 1.4e9, "ValidityEndTime": 1.5e9}}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	src := NewCloudTrailKeys(cfg, func(o *cloudtrail.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ring := NewKeyRing(src)
	n, err := ring.Load(context.Background(), "eu-west-1", time.Unix(1.4e9, 0), time.Unix(1.5e9, 0))
	if err != nil || n != 2 {
		t.Fatalf("n %d err %v", n, err)
	}
	if fmt.Sprint(tokens) != "[ page2]" {
		t.Errorf("tokens %q", tokens)
	}
	for _, d := range der {
		if k := ring.lookup("eu-west-1", Fingerprint(d)); k == nil || k.err != nil {
			t.Errorf("key %s not loaded", Fingerprint(d))
		}
	}
	// cached: a second identical window makes no call
	ring.Load(context.Background(), "eu-west-1", time.Unix(1.4e9, 0), time.Unix(1.5e9, 0))
	if len(tokens) != 2 {
		t.Errorf("window queried again: %v", tokens)
	}
}

// TestCheckOrder: aws-cli checks metadata before required members, required members before location.
func TestCheckOrder(t *testing.T) {
	ring := NewKeyRing(&FileKeys{})
	c := &Checker{Keys: ring}
	key := "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2014/08/10/123456789012_CloudTrail-Digest_us-east-1_foo_us-east-1_20140810T010000Z.json.gz"
	meta := map[string]string{"Signature": "00", "Signature-Algorithm": "SHA256withRSA"} // SDK v1 casing
	cases := []struct {
		name  string
		obj   Object
		class Class
	}{
		{"no-metadata-and-no-members", Object{Bucket: "1", Key: key, Body: gzipBytes([]byte(`{}`))}, ClassNoSignature},
		{"members-before-location", Object{Bucket: "1", Key: key, Body: gzipBytes([]byte(`{"digestS3Bucket":"2"}`)), Metadata: meta}, ClassInvalidFormat},
		{"location", Object{Bucket: "1", Key: key, Body: gzipBytes([]byte(`{"digestPublicKeyFingerprint":"x","digestS3Bucket":"2","digestS3Object":"k","previousDigestSignature":null,"digestEndTime":"2014-08-10T01:00:00Z","digestStartTime":"2014-08-10T00:00:00Z","logFiles":[]}`)), Metadata: meta}, ClassMoved},
		{"backfill-without-timestamp", Object{Bucket: "1", Key: strings.Replace(key, ".json.gz", "_backfill.json.gz", 1), Body: gzipBytes([]byte(`{}`)), Metadata: meta}, ClassInvalidFormat},
		{"trailing-after-json", Object{Bucket: "1", Key: key, Body: gzipBytes([]byte(`{} x`)), Metadata: meta}, ClassInvalidFormat},
	}
	for _, tc := range cases {
		_, ce := c.Check(context.Background(), tc.obj, "us-east-1", "")
		if ce == nil || ce.Class != tc.class {
			t.Errorf("%s: %v, want %s", tc.name, ce, tc.class)
		}
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

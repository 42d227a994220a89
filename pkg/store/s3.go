package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is a Store over Amazon S3 (or any endpoint the client is configured for).
type S3 struct {
	client *s3.Client
	opts   S3Options
}

// S3Options tune the S3 store.
type S3Options struct {
	// ExpectedBucketOwner, when set, is sent with every request so a bucket re-created by another
	// account is never read or written (confused-deputy guard).
	ExpectedBucketOwner string
	// PartSize is the multipart part size for Create; objects smaller than one part are written with a
	// single PUT on Commit. Default 16 MiB.
	PartSize int
}

// NewS3 returns an S3 store using client.
func NewS3(client *s3.Client, opts S3Options) *S3 {
	if opts.PartSize <= 0 {
		opts.PartSize = 16 << 20
	}
	return &S3{client: client, opts: opts}
}

// Client exposes the underlying S3 client for callers that need calls the Store interface lacks.
func (s *S3) Client() *s3.Client { return s.client }

func (s *S3) owner() *string {
	if s.opts.ExpectedBucketOwner == "" {
		return nil
	}
	return aws.String(s.opts.ExpectedBucketOwner)
}

// classify maps an SDK error to a Kind once, here, so no caller matches on error strings.
func classify(err error) Kind {
	if err == nil {
		return KindOther
	}
	var nsk *types.NoSuchKey
	var nsb *types.NoSuchBucket
	var nf *types.NotFound
	var ios *types.InvalidObjectState
	switch {
	case errors.As(err, &nsb):
		return KindNoBucket
	case errors.As(err, &nsk), errors.As(err, &nf):
		return KindNotFound
	case errors.As(err, &ios):
		return KindArchived
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case code == "NoSuchBucket":
			return KindNoBucket
		case code == "NoSuchKey" || code == "NotFound":
			return KindNotFound
		case strings.HasPrefix(code, "KMS.") || strings.Contains(code, "KMS"):
			return KindKMS
		case code == "AccessDenied" || code == "Forbidden" || code == "AllAccessDisabled":
			if strings.Contains(ae.ErrorMessage(), "KMS") {
				return KindKMS
			}
			return KindAccessDenied
		case code == "InvalidObjectState":
			return KindArchived
		case code == "PreconditionFailed" || code == "ConditionalRequestConflict":
			return KindConflict
		case code == "SlowDown" || code == "Throttling" || code == "ThrottlingException" ||
			code == "RequestTimeout" || code == "InternalError" || code == "ServiceUnavailable" ||
			code == "RequestTimeTooSkewed":
			return KindTransient
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch st := re.HTTPStatusCode(); {
		case st == 404:
			// A 404 that names no S3 error: not S3 speaking (a wrong endpoint), so not a verdict on the key.
			return KindNoBucket
		case st == 403:
			return KindAccessDenied
		case st == 412 || st == 409:
			return KindConflict
		case st == 429 || st >= 500:
			return KindTransient
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return KindTransient
	}
	return KindOther
}

func (s *S3) wrap(op, bucket, key string, err error) error {
	kind := classify(err)
	if kind == KindNotFound && op == "get" && !isNoSuchKey(err) {
		// S3 answers a GET of a missing key with the NoSuchKey code; anything else that reads as 404
		// (a bare "NotFound") comes from something that is not the bucket's S3.
		kind = KindNoBucket
	}
	return &Error{Op: op, Bucket: bucket, Key: key, Kind: kind, Err: err}
}

func isNoSuchKey(err error) bool {
	var nsk *types.NoSuchKey
	var ae smithy.APIError
	return errors.As(err, &nsk) || errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey"
}

func lowerMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

func (s *S3) Get(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, ExpectedBucketOwner: s.owner()})
	if err != nil {
		return nil, Info{}, s.wrap("get", bucket, key, err)
	}
	info := Info{Bucket: bucket, Key: key, Size: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified), Metadata: lowerMeta(out.Metadata)}
	return out.Body, info, nil
}

func (s *S3) Head(ctx context.Context, bucket, key string) (Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key, ExpectedBucketOwner: s.owner()})
	if err != nil {
		werr := s.wrap("head", bucket, key, err)
		if KindOf(werr) == KindNotFound {
			// A HEAD response has no body, so a missing key, a missing bucket and a wrong endpoint
			// all read "404 NotFound"; a one-byte GET tells them apart (NoSuchKey or not). Callers
			// acknowledge a missing key for good, so it must really be the key.
			rc, _, gerr := s.Get(ctx, bucket, key)
			switch {
			case gerr == nil:
				rc.Close()
				return Info{}, &Error{Op: "head", Bucket: bucket, Key: key, Kind: KindTransient, Err: errors.New("HEAD said 404, GET found the object")}
			case KindOf(gerr) != KindNotFound:
				return Info{}, gerr
			}
		}
		return Info{}, werr
	}
	return Info{Bucket: bucket, Key: key, Size: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified), Metadata: lowerMeta(out.Metadata)}, nil
}

func (s *S3) List(ctx context.Context, bucket, prefix, startAfter string, fn func(Info) error) error {
	in := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String(prefix), ExpectedBucketOwner: s.owner()}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.wrap("list", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			if err := fn(Info{Bucket: bucket, Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size),
				ETag: aws.ToString(o.ETag), LastModified: aws.ToTime(o.LastModified)}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *S3) Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), Metadata: meta, ExpectedBucketOwner: s.owner()})
	if err != nil {
		return s.wrap("put", bucket, key, err)
	}
	return nil
}

func (s *S3) PutIfAbsent(ctx context.Context, bucket, key string, body []byte, meta map[string]string) (bool, error) {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), Metadata: meta, IfNoneMatch: aws.String("*"), ExpectedBucketOwner: s.owner()})
	if err != nil {
		werr := s.wrap("put-if-absent", bucket, key, err)
		if KindOf(werr) == KindConflict {
			return false, nil
		}
		return false, werr
	}
	return true, nil
}

func (s *S3) Delete(ctx context.Context, bucket, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key, ExpectedBucketOwner: s.owner()})
	if err != nil && classify(err) != KindNotFound {
		return s.wrap("delete", bucket, key, err)
	}
	return nil
}

// Create buffers up to one part; a small object is written by one PUT on Commit, a large one as a
// multipart upload that is completed only on Commit, so no partial object is ever visible.
func (s *S3) Create(ctx context.Context, bucket, key string, meta map[string]string) (Upload, error) {
	return &s3Upload{s: s, ctx: ctx, bucket: bucket, key: key, meta: meta}, nil
}

type s3Upload struct {
	s           *S3
	ctx         context.Context
	bucket, key string
	meta        map[string]string
	buf         bytes.Buffer
	uploadID    *string
	parts       []types.CompletedPart
	err         error
	done        bool
}

func (u *s3Upload) Write(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	n, _ := u.buf.Write(p)
	for u.buf.Len() >= u.s.opts.PartSize {
		if err := u.flushPart(u.buf.Next(u.s.opts.PartSize)); err != nil {
			u.err = err
			return n, err
		}
	}
	return n, nil
}

func (u *s3Upload) flushPart(part []byte) error {
	if u.uploadID == nil {
		out, err := u.s.client.CreateMultipartUpload(u.ctx, &s3.CreateMultipartUploadInput{Bucket: &u.bucket, Key: &u.key,
			Metadata: u.meta, ExpectedBucketOwner: u.s.owner()})
		if err != nil {
			return u.s.wrap("create-multipart", u.bucket, u.key, err)
		}
		u.uploadID = out.UploadId
	}
	num := int32(len(u.parts) + 1)
	out, err := u.s.client.UploadPart(u.ctx, &s3.UploadPartInput{Bucket: &u.bucket, Key: &u.key, UploadId: u.uploadID,
		PartNumber: aws.Int32(num), Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))),
		ExpectedBucketOwner: u.s.owner()})
	if err != nil {
		return u.s.wrap("upload-part", u.bucket, u.key, err)
	}
	u.parts = append(u.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
	return nil
}

func (u *s3Upload) Commit() error {
	if u.done {
		return errors.New("upload already finished")
	}
	u.done = true
	if u.err != nil {
		u.abort()
		return u.err
	}
	if u.uploadID == nil {
		return u.s.Put(u.ctx, u.bucket, u.key, u.buf.Bytes(), u.meta)
	}
	if u.buf.Len() > 0 {
		if err := u.flushPart(u.buf.Bytes()); err != nil {
			u.abort()
			return err
		}
	}
	_, err := u.s.client.CompleteMultipartUpload(u.ctx, &s3.CompleteMultipartUploadInput{Bucket: &u.bucket, Key: &u.key,
		UploadId: u.uploadID, MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts}, ExpectedBucketOwner: u.s.owner()})
	if err != nil {
		u.abort()
		return u.s.wrap("complete-multipart", u.bucket, u.key, err)
	}
	return nil
}

func (u *s3Upload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	return u.abort()
}

func (u *s3Upload) abort() error {
	if u.uploadID == nil {
		return nil
	}
	// A fresh context: aborting must work even when the write was cancelled.
	_, err := u.s.client.AbortMultipartUpload(context.WithoutCancel(u.ctx), &s3.AbortMultipartUploadInput{Bucket: &u.bucket,
		Key: &u.key, UploadId: u.uploadID, ExpectedBucketOwner: u.s.owner()})
	if err != nil {
		return fmt.Errorf("abort multipart upload of %s/%s: %w", u.bucket, u.key, err)
	}
	return nil
}

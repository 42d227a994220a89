package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/store"
)

// BackfillOptions select the objects already in a bucket to process: those under Prefix whose
// LastModified is in [Start, End).
type BackfillOptions struct {
	Store  store.Store
	Bucket string
	Prefix string
	// Start and End bound LastModified; a zero value leaves that side open.
	Start, End time.Time
	// State is where the resumable checkpoint lives (e.g. the ledger location). Required.
	State store.Location
	// Every is how many objects pass between checkpoint writes. Default 1000.
	Every  int
	Logger *slog.Logger
}

// BackfillState is the resumable checkpoint of one backfill (one bucket, prefix and time range).
type BackfillState struct {
	Bucket   string    `json:"bucket"`
	Prefix   string    `json:"prefix"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	LastKey  string    `json:"last_key"` // every object up to and including this key is handled
	Done     int64     `json:"done"`
	Skipped  int64     `json:"skipped"` // listed but outside the time range
	Failed   []string  `json:"failed,omitempty"`
	Finished bool      `json:"finished"`
	Updated  time.Time `json:"updated"`
}

func (o BackfillOptions) withDefaults() (BackfillOptions, error) {
	if o.Store == nil || o.Bucket == "" || o.State.Store == nil {
		return o, errors.New("source: backfill needs Store, Bucket and State")
	}
	if !o.Start.IsZero() && !o.End.IsZero() && !o.End.After(o.Start) {
		return o, fmt.Errorf("source: backfill end %s is not after start %s", o.End.Format(time.RFC3339), o.Start.Format(time.RFC3339))
	}
	if o.Every <= 0 {
		o.Every = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// stateKey names a backfill's checkpoint by what it selects, so rerunning the same command resumes.
func (o BackfillOptions) stateKey() string {
	h := sha256.Sum256([]byte(strings.Join([]string{o.Bucket, o.Prefix, o.Start.UTC().Format(time.RFC3339Nano), o.End.UTC().Format(time.RFC3339Nano)}, "\x00")))
	return o.State.Key("backfill/" + hex.EncodeToString(h[:12]) + ".json")
}

func (o BackfillOptions) load(ctx context.Context) (BackfillState, error) {
	st := BackfillState{Bucket: o.Bucket, Prefix: o.Prefix, Start: o.Start, End: o.End}
	rc, _, err := o.State.Store.Get(ctx, o.State.Bucket, o.stateKey())
	if store.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read backfill checkpoint: %w", err)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(&st); err != nil {
		return st, fmt.Errorf("decode backfill checkpoint %s: %w", o.stateKey(), err)
	}
	return st, nil
}

func (o BackfillOptions) save(ctx context.Context, st *BackfillState) error {
	st.Updated = time.Now().UTC()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := o.State.Store.Put(ctx, o.State.Bucket, o.stateKey(), b, nil); err != nil {
		return fmt.Errorf("write backfill checkpoint: %w", err)
	}
	return nil
}

// walk lists the selected objects after the checkpoint in batches of Every, calling batch for each
// and saving the checkpoint after it succeeds.
func (o BackfillOptions) walk(ctx context.Context, batch func(ctx context.Context, objs []store.Info, st *BackfillState) error) (BackfillState, error) {
	o, err := o.withDefaults()
	if err != nil {
		return BackfillState{}, err
	}
	st, err := o.load(ctx)
	if err != nil {
		return st, err
	}
	if st.Finished {
		o.Logger.Info("backfill already finished", "bucket", o.Bucket, "prefix", o.Prefix, "done", st.Done)
		return st, nil
	}
	if st.LastKey != "" {
		o.Logger.Info("resuming backfill", "after", st.LastKey, "done", st.Done)
	}
	var pending []store.Info
	flush := func(last string) error {
		if len(pending) > 0 {
			if err := batch(ctx, pending, &st); err != nil {
				return err
			}
			pending = pending[:0]
		}
		if last != "" {
			st.LastKey = last
		}
		return o.save(ctx, &st)
	}
	var lastListed string
	err = o.Store.List(ctx, o.Bucket, o.Prefix, st.LastKey, func(info store.Info) error {
		lastListed = info.Key
		if (!o.Start.IsZero() && info.LastModified.Before(o.Start)) || (!o.End.IsZero() && !info.LastModified.Before(o.End)) {
			st.Skipped++
			return nil
		}
		pending = append(pending, info)
		if len(pending) >= o.Every {
			return flush(info.Key)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("backfill listing s3://%s/%s: %w", o.Bucket, o.Prefix, err)
	}
	st.Finished = true
	if err := flush(lastListed); err != nil {
		st.Finished = false
		return st, err
	}
	return st, nil
}

// EnqueueBackfill sends one S3-style ObjectCreated notification per selected object to queueURL, so
// the workers process old objects exactly like new ones. It resumes from its checkpoint.
func EnqueueBackfill(ctx context.Context, o BackfillOptions, client SQSClient, queueURL string) (BackfillState, error) {
	sender, ok := client.(interface {
		SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	})
	if !ok {
		return BackfillState{}, errors.New("source: the SQS client cannot SendMessageBatch")
	}
	return o.walk(ctx, func(ctx context.Context, objs []store.Info, st *BackfillState) error {
		for len(objs) > 0 {
			chunk := objs[:min(10, len(objs))]
			objs = objs[len(chunk):]
			entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
			for i, info := range chunk {
				entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(BackfillNotification(info))}
			}
			// Entries that failed are sent again; a duplicate is harmless (the ledger dedupes).
			for attempt := 0; len(entries) > 0; attempt++ {
				out, err := sender.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
				if err != nil {
					return fmt.Errorf("enqueue: %w", err)
				}
				st.Done += int64(len(out.Successful))
				if len(out.Failed) == 0 {
					break
				}
				if attempt == 4 {
					return fmt.Errorf("enqueue: %d messages refused: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
				}
				failed := map[string]bool{}
				for _, f := range out.Failed {
					failed[aws.ToString(f.Id)] = true
				}
				var again []types.SendMessageBatchRequestEntry
				for _, e := range entries {
					if failed[aws.ToString(e.Id)] {
						again = append(again, e)
					}
				}
				entries = again
				time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
			}
		}
		return nil
	})
}

// BackfillNotification renders an S3 event notification (eventVersion 2.1, ObjectCreated:Put) for
// an existing object, key form-encoded as S3 does it ('/' kept, ' ' as '+').
func BackfillNotification(info store.Info) string {
	key := strings.ReplaceAll(url.QueryEscape(info.Key), "%2F", "/")
	rec := map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
		"eventTime":    info.LastModified.UTC().Format("2006-01-02T15:04:05.000Z"),
		"userIdentity": map[string]string{"principalId": "logarchive-backfill"},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0", "configurationId": "logarchive-backfill",
			"bucket": map[string]any{"name": info.Bucket, "arn": "arn:aws:s3:::" + info.Bucket},
			"object": map[string]any{"key": key, "size": info.Size, "eTag": ack.NormalizeETag(info.ETag)},
		},
	}
	b, _ := json.Marshal(map[string]any{"Records": []any{rec}})
	return string(b)
}

// ProcessBackfill hands the selected objects straight to h (no queue), Workers at a time; after
// each batch of Every objects it calls h.Drain so their output is committed, then saves the
// checkpoint. Objects that fail three times are listed in the state's Failed.
func ProcessBackfill(ctx context.Context, o BackfillOptions, h Handler, workers int) (BackfillState, error) {
	return o.walk(ctx, func(ctx context.Context, objs []store.Info, st *BackfillState) error {
		todo := make([]ObjectRef, len(objs))
		for i, info := range objs {
			todo[i] = ListedRef(info)
		}
		for attempt := 1; attempt <= 3 && len(todo) > 0; attempt++ {
			var retry []ObjectRef
			// Durable objects are acknowledged only when their transaction commits: at the Drain.
			listErr, drainErr := HandleEach(ctx, h, workers, attempt, func(handle func(ObjectRef) error) error {
				for _, ref := range todo {
					if err := handle(ref); err != nil {
						return err
					}
				}
				return nil
			}, func(ref ObjectRef, r ack.Outcome) {
				if r.Acked() {
					st.Done++
				} else {
					retry = append(retry, ref)
				}
			})
			if listErr != nil {
				return listErr
			}
			if drainErr != nil {
				return fmt.Errorf("commit backfill batch: %w", drainErr)
			}
			todo = retry
			if len(todo) > 0 && attempt < 3 {
				time.Sleep(time.Duration(attempt) * time.Second)
			}
		}
		for _, ref := range todo {
			st.Failed = append(st.Failed, ref.Key)
		}
		return nil
	})
}

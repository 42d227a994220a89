package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/logarchive/logarchive/pkg/awsconfig"
	"github.com/logarchive/logarchive/pkg/ocsf"
	"github.com/logarchive/logarchive/pkg/store"
)

// readProviders reads --security-lake-providers: the JSON itself, or a file holding it
// (file://path as aws-cli takes it, or a plain path).
func readProviders(v string) ([]ocsf.Provider, error) {
	data := []byte(v)
	if t := strings.TrimSpace(v); !strings.HasPrefix(t, "{") {
		b, err := os.ReadFile(strings.TrimPrefix(t, "file://"))
		if err != nil {
			return nil, fmt.Errorf("--security-lake-providers: %w", err)
		}
		data = b
	}
	ps, err := ocsf.ParseProviders(data)
	if err != nil {
		return nil, fmt.Errorf("--security-lake-providers: %w", err)
	}
	return ps, nil
}

// securityLakeSources places each class: at its provider.location, written with the source's
// provider role when --security-lake-providers gives one, else under <dest>/ext/<default source>/
// with the worker's own credentials (the ledger and quarantine always use the worker's own). Where
// each class goes, and with whose credentials, is logged once at startup.
func (p *processingFlags) securityLakeSources(ctx context.Context, dest store.Location, log *slog.Logger) (map[ocsf.Class]store.Location, error) {
	sources, err := ocsf.Sources(dest, p.sourceVersion)
	if err != nil {
		return nil, err
	}
	if p.providers == "" {
		log.Info("security-lake: no --security-lake-providers: every source is written under the destination with the worker's own credentials",
			"under", sources[ocsf.ClassAPIActivity].String())
		return sources, nil
	}
	ps, err := readProviders(p.providers)
	if err != nil {
		return nil, err
	}
	given := map[ocsf.Class]bool{}
	session := roleSessionName()
	for _, pr := range ps {
		st := dest.Store
		if pr.RoleARN != "" || pr.Region != "" || !isS3(st) {
			// The lake bucket's Region (Security Lake has one bucket per Region).
			cfg, err := awsconfig.Load(ctx, pr.Region)
			if err != nil {
				return nil, err
			}
			if cfg.Region == "" {
				return nil, fmt.Errorf("--security-lake-providers: source %s: no AWS region: set AWS_REGION or the source's \"region\"", pr.Class.EventClass())
			}
			if pr.RoleARN != "" {
				// One client per source: each signs with its own role's cached credentials.
				cfg = awsconfig.AssumeRole(cfg, pr.RoleARN, pr.ExternalID, session)
			}
			st = store.NewS3(awsconfig.NewS3(cfg), store.S3Options{})
		}
		loc, err := ocsf.ProviderLocation(st, pr.Location)
		if err != nil {
			return nil, fmt.Errorf("--security-lake-providers: %w", err)
		}
		sources[pr.Class] = loc
		given[pr.Class] = true
		creds := "worker's own"
		if pr.RoleARN != "" {
			creds = "role " + pr.RoleARN
		}
		log.Info("security-lake source", "class", pr.Class.String(), "location", pr.Location, "region", pr.Region,
			"credentials", creds, "session", session)
	}
	for _, c := range ocsf.Classes() {
		if !given[c] {
			loc := sources[c]
			log.Warn("security-lake source not in --security-lake-providers: written under the destination with the worker's own credentials",
				"class", c.String(), "location", loc.String())
		}
	}
	return sources, nil
}

func isS3(st store.Store) bool {
	_, ok := st.(*store.S3)
	return ok // false for nil
}

var sessionUnsafe = regexp.MustCompile(`[^\w+=,.@-]`)

// roleSessionName names this worker in the provider roles' sessions (CloudTrail of the lake
// account shows it): logarchive-<host>, within sts:AssumeRole's 2-64 characters of [\w+=,.@-].
func roleSessionName() string {
	host, _ := os.Hostname()
	name := "logarchive-" + sessionUnsafe.ReplaceAllString(host, "-")
	if len(name) > 64 {
		name = name[:64]
	}
	return strings.TrimRight(name, "-")
}

// rollbackStores tells the ledger which store deletes a rolled-back file in each provider
// location's bucket that has a Region of its own: the worker's own credentials (the provider roles
// may not delete, docs/security-lake.md §2) signing for that Region. nil: the ledger's store.
func (p *processingFlags) rollbackStores(ctx context.Context) (func(bucket string) store.Store, error) {
	if p.format != "security-lake" || p.providers == "" {
		return nil, nil
	}
	ps, err := readProviders(p.providers)
	if err != nil {
		return nil, err
	}
	byBucket := map[string]store.Store{} // read-only once built: safe for the ledger's goroutines
	for _, pr := range ps {
		loc, err := ocsf.ProviderLocation(nil, pr.Location)
		if err != nil || pr.Region == "" || byBucket[loc.Bucket] != nil {
			continue // a bad location was refused by ParseProviders
		}
		cfg, err := awsconfig.Load(ctx, pr.Region)
		if err != nil {
			return nil, err
		}
		byBucket[loc.Bucket] = store.NewS3(awsconfig.NewS3(cfg), store.S3Options{})
	}
	if len(byBucket) == 0 {
		return nil, nil
	}
	return func(bucket string) store.Store { return byBucket[bucket] }, nil
}

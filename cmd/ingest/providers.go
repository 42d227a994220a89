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
		if pr.RoleARN != "" {
			cfg, err := awsconfig.Load(ctx, "")
			if err != nil {
				return nil, err
			}
			// One client per source: each signs with its own role's cached credentials.
			st = store.NewS3(awsconfig.NewS3(awsconfig.AssumeRole(cfg, pr.RoleARN, pr.ExternalID, session)), store.S3Options{})
		} else if st == nil || !isS3(st) {
			if st, err = newS3Store(ctx); err != nil {
				return nil, err
			}
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
		log.Info("security-lake source", "class", pr.Class.String(), "location", pr.Location, "credentials", creds, "session", session)
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
	return ok
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

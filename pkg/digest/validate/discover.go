package validate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
)

// folders lists the immediate sub-folders of prefix (which ends in "/"), without the prefix or the
// trailing "/". The Store interface has no delimiter listing, so S3 and local stores are handled here;
// walking every log object of an organization to find a few thousand folders would be far slower.
func (v *Validator) folders(ctx context.Context, bucket, prefix string) ([]string, error) {
	switch st := v.opts.Store.(type) {
	case *store.S3:
		var out []string
		p := s3.NewListObjectsV2Paginator(st.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket),
			Prefix: aws.String(prefix), Delimiter: aws.String("/")})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list folders of s3://%s/%s: %w", bucket, prefix, err)
			}
			for _, cp := range page.CommonPrefixes {
				out = append(out, strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/"))
			}
		}
		return out, nil
	case *store.Local:
		out, err := st.Folders(ctx, bucket, prefix)
		if err != nil {
			return nil, fmt.Errorf("list folders of %s/%s: %w", bucket, prefix, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("chain discovery needs an S3 or local store, not %T", v.opts.Store)
}

// Discover finds every digest chain under bucket/prefix: each AWSLogs/[o-id/]<account>/
// CloudTrail-Digest/<region>/ folder, split by trail and home region from the file names of the digests
// in the validated range. With an empty prefix and no AWSLogs/ folder at the top, each top-level
// folder holding AWSLogs/ is searched (Control Tower prefixes keys with the organization id).
func (v *Validator) Discover(ctx context.Context, bucket, prefix string) ([]digest.ChainID, error) {
	prefix = strings.Trim(prefix, "/")
	bases := []string{prefix}
	if prefix == "" {
		top, err := v.folders(ctx, bucket, "")
		if err != nil {
			return nil, err
		}
		if !contains(top, "AWSLogs") {
			bases = nil
			for _, t := range top {
				sub, err := v.folders(ctx, bucket, t+"/")
				if err != nil {
					return nil, err
				}
				if contains(sub, "AWSLogs") {
					bases = append(bases, t)
				}
			}
		}
	}
	type acct struct{ base, org, id string }
	var accts []acct
	for _, base := range bases {
		root := "AWSLogs/"
		if base != "" {
			root = base + "/" + root
		}
		top, err := v.folders(ctx, bucket, root)
		if err != nil {
			return nil, err
		}
		for _, t := range top {
			switch {
			case strings.HasPrefix(t, "o-"):
				ids, err := v.folders(ctx, bucket, root+t+"/")
				if err != nil {
					return nil, err
				}
				for _, id := range ids {
					accts = append(accts, acct{base, t, id})
				}
			default:
				accts = append(accts, acct{base, "", t})
			}
		}
	}
	var (
		mu     sync.Mutex
		chains []digest.ChainID
		errs   []error
		wg     sync.WaitGroup
		sem    = make(chan struct{}, 16)
	)
	for _, a := range accts {
		probe := digest.ChainID{Bucket: bucket, Prefix: a.base, OrgID: a.org, Account: a.id, SourceRegion: "x"}
		regionsRoot := strings.TrimSuffix(probe.RegionPrefix(), "x")
		regions, err := v.folders(ctx, bucket, regionsRoot)
		if err != nil {
			return nil, err
		}
		for _, r := range regions {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				id := probe
				id.SourceRegion = r
				found, err := v.trailsIn(ctx, id)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				chains = append(chains, found...)
			}()
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(chains, func(i, j int) bool { return chains[i].String() < chains[j].String() })
	return chains, nil
}

// trailsIn lists one source-region folder over the validated range and returns one chain per (trail,
// home region) seen there.
func (v *Validator) trailsIn(ctx context.Context, id digest.ChainID) ([]digest.ChainID, error) {
	prefix := id.RegionPrefix()
	start, end := v.opts.Start, v.opts.End
	marker := prefix + "/" + start.Add(-time1m).UTC().Format("2006/01/02") + "/"
	hiFolder := prefix + "/" + end.Add(time1h).UTC().Format("2006/01/02") + "/~"
	seen := map[[2]string]bool{}
	var out []digest.ChainID
	errStop := errors.New("stop")
	err := v.opts.Store.List(ctx, id.Bucket, prefix+"/", marker, func(in store.Info) error {
		if in.Key > hiFolder {
			return errStop
		}
		kn, err := digest.ParseKey(in.Key)
		if err != nil || kn.Account != id.Account || kn.SourceRegion != id.SourceRegion {
			return nil
		}
		k := [2]string{kn.Trail, kn.HomeRegion}
		if !seen[k] {
			seen[k] = true
			c := id
			c.Trail, c.HomeRegion = kn.Trail, kn.HomeRegion
			out = append(out, c)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("list digests under s3://%s/%s: %w", id.Bucket, prefix, err)
	}
	return out, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// ValidateAll validates chains concurrently (Options.ChainWorkers at once) and returns results in
// the order of chains.
func (v *Validator) ValidateAll(ctx context.Context, chains []digest.ChainID) ([]*ChainResult, error) {
	out := make([]*ChainResult, len(chains))
	errs := make([]error, len(chains))
	sem := make(chan struct{}, v.opts.ChainWorkers)
	var wg sync.WaitGroup
	for i, c := range chains {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = v.ValidateChain(ctx, c)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

const (
	time1m = time.Minute
	time1h = time.Hour
)

package ocsf_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/logarchive/logarchive/pkg/ocsf"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
)

// Map a flow log to OCSF 4001 and write it as a Security Lake object.
func ExampleWriter() {
	dir, err := os.MkdirTemp("", "lake")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	st := store.NewLocal(dir)

	// In production the location is the provider.location CreateCustomLogSource returned.
	loc, err := ocsf.ProviderLocation(st, "s3://aws-security-data-lake-eu-west-1-abc/ext/logarchive-network-activity/1.0/")
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := ocsf.NewWriter(ocsf.WriterOptions{Sources: map[ocsf.Class]store.Location{ocsf.ClassNetworkActivity: loc}})
	if err != nil {
		fmt.Println(err)
		return
	}

	obj := parse.Classify("archive", "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/01/02/f.log")
	body := strings.NewReader("version account-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 123456789012 10.0.0.1 10.0.0.2 443 49152 6 10 8400 1704196800 1704196860 ACCEPT OK\n" +
		"2 123456789012 10.0.0.9 10.0.0.2 22 49153 6 1 40 1704196805 1704196860 REJECT OK\n")
	dec, err := parse.NewDecoder(obj, body, parse.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	var rec parse.Record
	for {
		if err := dec.Next(&rec); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			fmt.Println(err)
			return
		}
		row, err := ocsf.FromRecord(&rec)
		if err != nil {
			fmt.Println(err)
			return
		}
		na := row.(*ocsf.NetworkActivity)
		fmt.Println(na.TypeUID, na.TypeName, *na.Disposition)
		// Version 2 records name no region: the object's key supplies it.
		lin := ocsf.Lineage{Bucket: obj.Bucket, Key: obj.Key, Index: rec.Index, Account: obj.Account, Region: obj.Region}
		if err := w.Add(ctx, row, lin); err != nil {
			fmt.Println(err)
			return
		}
	}
	files, err := w.Flush(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Bucket, path.Dir(f.Key), f.Rows)
	}
	// Output:
	// 400106 Network Activity: Traffic Allowed
	// 400105 Network Activity: Refuse Blocked
	// aws-security-data-lake-eu-west-1-abc ext/logarchive-network-activity/1.0/region=eu-west-1/accountId=123456789012/eventDay=20240102 2
}

package parse_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/logarchive/logarchive/pkg/parse"
)

func ExampleNewDecoder() {
	obj := parse.Classify("archive", "AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/01/02/f.log.gz")
	body := strings.NewReader("version srcaddr dstport action\n2 10.0.0.1 22 ACCEPT\n2 10.0.0.2 http REJECT\n2 10.0.0.3 - REJECT\n")

	dec, err := parse.NewDecoder(obj, body, parse.Options{})
	if err != nil {
		fmt.Println("quarantine:", err)
		return
	}
	var rec parse.Record
	for {
		err := dec.Next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// parse.IsPoison(err): quarantine the object; otherwise retry it later.
			fmt.Println("stop:", err)
			return
		}
		fmt.Println(rec.Index, rec.Source, rec.Flow.SrcAddr, rec.Flow.DstPort.Valid, rec.Flow.Action)
	}
	n, bad := dec.(parse.BadRecordReporter).BadRecords()
	fmt.Println("skipped", n, "first at line", bad[0].Line)
	// Output:
	// 0 vpcflow 10.0.0.1 true ACCEPT
	// 2 vpcflow 10.0.0.3 false REJECT
	// skipped 1 first at line 3
}

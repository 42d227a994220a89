package synth

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"
)

// flowFormat is a flow log's LogFormat: the fields in the order the header line names them.
type flowFormat struct {
	name    string
	fields  []string
	version int // highest version among the fields: the records' version value
}

func newFlowFormat(name, fields string) flowFormat {
	f := flowFormat{name: name, fields: strings.Fields(fields)}
	for _, fl := range f.fields {
		f.version = max(f.version, flowFieldVersion[fl])
	}
	return f
}

// flowFieldVersion is the flow-log version that introduced each field (formats.md §2.1).
var flowFieldVersion = map[string]int{
	"version": 2, "account-id": 2, "interface-id": 2, "srcaddr": 2, "dstaddr": 2, "srcport": 2, "dstport": 2,
	"protocol": 2, "packets": 2, "bytes": 2, "start": 2, "end": 2, "action": 2, "log-status": 2,
	"vpc-id": 3, "subnet-id": 3, "instance-id": 3, "tcp-flags": 3, "type": 3, "pkt-srcaddr": 3, "pkt-dstaddr": 3,
	"region": 4, "az-id": 4, "sublocation-type": 4, "sublocation-id": 4,
	"pkt-src-aws-service": 5, "pkt-dst-aws-service": 5, "flow-direction": 5, "traffic-path": 5,
}

// flowFormats are the flow-log formats chains use in turn: AWS's default and two custom formats
// with v3-v5 fields in different orders (the second in the alphabetical order some tools emit).
var flowFormats = []flowFormat{
	newFlowFormat("default", "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"),
	newFlowFormat("custom-v5", "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status region az-id sublocation-type sublocation-id flow-direction traffic-path pkt-src-aws-service pkt-dst-aws-service"),
	newFlowFormat("custom-v5-alpha", "account-id action az-id bytes dstaddr dstport end flow-direction instance-id interface-id log-status packets pkt-dst-aws-service pkt-dstaddr pkt-src-aws-service pkt-srcaddr protocol region srcaddr srcport start sublocation-id sublocation-type subnet-id tcp-flags traffic-path type version vpc-id"),
}

// FlowFormatFields returns the field lists of the flow-log formats the generator writes, by name.
func FlowFormatFields() map[string][]string {
	out := map[string][]string{}
	for _, f := range flowFormats {
		out[f.name] = append([]string(nil), f.fields...)
	}
	return out
}

func (c *chain) flowKey(t time.Time) string {
	o := c.g.opts
	ext := ".log.gz"
	if o.FlowLogParquet {
		ext = ".log.parquet"
	}
	name := c.acct.ID + "_vpcflowlogs_" + c.region + "_" + c.flowLogID + "_" + t.Format("20060102T1504Z") + "_" + c.r.hex(8) + ext
	if o.FlowLogHive {
		hour := ""
		if o.FlowLogHourly {
			hour = "/hour=" + t.Format("15")
		}
		return c.keyPrefix() + "AWSLogs/aws-account-id=" + c.acct.ID + "/aws-service=vpcflowlogs/aws-region=" + c.region +
			"/year=" + t.Format("2006") + "/month=" + t.Format("01") + "/day=" + t.Format("02") + hour + "/" + name
	}
	folder := t.Format("2006/01/02")
	if o.FlowLogHourly {
		folder = t.Format("2006/01/02/15")
	}
	return c.keyPrefix() + "AWSLogs/" + c.acct.ID + "/vpcflowlogs/" + c.region + "/" + folder + "/" + name
}

// azCode returns the prefix of a region's availability-zone ids (use1-az1 …).
func azCode(region string) string {
	switch region {
	case "us-east-1":
		return "use1"
	case "us-east-2":
		return "use2"
	case "us-west-2":
		return "usw2"
	case "eu-west-1":
		return "euw1"
	case "eu-central-1":
		return "euc1"
	case "ap-southeast-2":
		return "apse2"
	}
	return strings.ReplaceAll(region, "-", "")
}

func (c *chain) azID() string { return azCode(c.region) + "-az" + strconv.Itoa(1+c.r.IntN(3)) }

// writeFlowLog writes the flow-log file of one 5-minute window: records whose end falls in it.
func (c *chain) writeFlowLog(ctx context.Context, ws time.Time) error {
	f := c.flowFormat
	n := c.r.poisson(float64(c.g.opts.FlowRecordsPerHour) / 12)
	var b bytes.Buffer
	b.WriteString(strings.Join(f.fields, " "))
	b.WriteByte('\n')
	vals := map[string]string{}
	// After the scenario opens SSH to the world, the attacker connects: a few accepted flows in
	// each of the next six windows.
	attack := 0
	if !c.sshOpenedAt.IsZero() && !ws.Add(window).Before(c.sshOpenedAt) && ws.Before(c.sshOpenedAt.Add(6*window)) {
		attack = 2
	}
	var fp *flowParquet
	if c.g.opts.FlowLogParquet {
		fp = newFlowParquet(c.flowSchema)
	}
	for j := range n + attack {
		c.flowRecord(vals, f.version, ws)
		if j >= n {
			c.attackFlow(vals, ws)
		}
		if fp != nil {
			if err := fp.add(vals); err != nil {
				return err
			}
			continue
		}
		for i, fl := range f.fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			v := vals[fl]
			if v == "" {
				v = "-"
			}
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	var body []byte
	var err error
	if fp != nil {
		body, err = fp.bytes()
	} else {
		body, err = c.gzip(b.Bytes())
	}
	if err != nil {
		return err
	}
	return c.put(ctx, TableVPCFlow, c.flowKey(ws.Add(window)), body, nil, n+attack)
}

var awsServiceRanges = []struct{ service, prefix string }{
	{"S3", "52.216."}, {"DYNAMODB", "52.94."}, {"EC2", "3.120."}, {"CLOUDFRONT", "13.224."}, {"AMAZON", "54.239."},
}

// flowRecord fills vals with one record; fields a format does not select are simply not printed.
func (c *chain) flowRecord(vals map[string]string, version int, ws time.Time) {
	r := c.r
	clear(vals)
	eni := "eni-0" + strings.Repeat(strconv.Itoa(c.idx%10), 4) + r.hex(12)
	instance := "i-0" + r.hex(16)
	if r.chance(0.3) {
		eni = "eni-0" + strings.Repeat(strconv.Itoa(c.idx%10), 4) + "aaaaaaaaaaaa"
		instance = "-" // a requester-managed ENI (NAT gateway)
	}
	end := r.between(ws, window)
	start := end.Add(-time.Duration(r.IntN(60)) * time.Second)
	vals["version"] = strconv.Itoa(version)
	vals["account-id"] = c.acct.ID
	vals["interface-id"] = eni
	vals["vpc-id"] = c.vpc
	vals["subnet-id"] = c.subnet
	vals["instance-id"] = instance
	vals["region"] = c.region
	vals["az-id"] = c.azID()
	vals["start"] = strconv.FormatInt(start.Unix(), 10)
	vals["end"] = strconv.FormatInt(end.Unix(), 10)
	switch x := r.IntN(1000); {
	case x < 40:
		vals["log-status"] = "NODATA"
		return
	case x < 45:
		vals["log-status"] = "SKIPDATA"
		return
	}
	vals["log-status"] = "OK"
	vals["type"] = "IPv4"
	if r.IntN(200) == 0 {
		vals["account-id"] = "unknown" // some AWS-created ENIs
	}
	local := c.privateIP()
	var src, dst, sport, dport, proto, dir string
	var svcSrc, svcDst string
	action := "ACCEPT"
	flags := 0
	switch x := r.IntN(100); {
	case x < 30: // scanners knocking from the internet
		src, dst = r.publicIP(), local
		sport, dport = strconv.Itoa(1024+r.IntN(64000)), pick(r, []string{"22", "23", "3389", "445", "8080", "5900", "6379"})
		proto, dir, flags = "6", "ingress", 2
		action = "REJECT"
	case x < 55: // east-west inside the VPC
		src, dst = local, c.privateIP()
		sport, dport = strconv.Itoa(32768+r.IntN(28000)), pick(r, []string{"443", "5432", "6379", "8080"})
		proto, dir, flags = "6", "egress", 19
	case x < 75: // to an AWS service
		s := pick(r, awsServiceRanges)
		src, dst = local, s.prefix+strconv.Itoa(r.IntN(256))+"."+strconv.Itoa(1+r.IntN(254))
		sport, dport = strconv.Itoa(32768+r.IntN(28000)), "443"
		proto, dir, flags, svcDst = "6", "egress", 19, s.service
	case x < 85: // replies from an AWS service
		s := pick(r, awsServiceRanges)
		src, dst = s.prefix+strconv.Itoa(r.IntN(256))+"."+strconv.Itoa(1+r.IntN(254)), local
		sport, dport = "443", strconv.Itoa(32768+r.IntN(28000))
		proto, dir, flags, svcSrc = "6", "ingress", 18, s.service
	case x < 92: // NTP
		src, dst = local, r.publicIP()
		sport, dport = strconv.Itoa(32768+r.IntN(28000)), "123"
		proto, dir = "17", "egress"
	default: // ICMP has no ports
		src, dst = r.publicIP(), local
		sport, dport = "", ""
		proto, dir = "1", "ingress"
		if r.chance(0.5) {
			action = "REJECT"
		}
	}
	packets := 1 + r.IntN(40)
	if action == "REJECT" {
		packets = 1 + r.IntN(3)
	}
	vals["srcaddr"], vals["dstaddr"] = src, dst
	vals["pkt-srcaddr"], vals["pkt-dstaddr"] = src, dst
	vals["srcport"], vals["dstport"] = sport, dport
	vals["protocol"] = proto
	vals["packets"] = strconv.Itoa(packets)
	vals["bytes"] = strconv.Itoa(packets * (40 + r.IntN(1400)))
	vals["action"] = action
	if proto == "6" {
		vals["tcp-flags"] = strconv.Itoa(flags)
	} else {
		vals["tcp-flags"] = "0"
	}
	vals["flow-direction"] = dir
	if dir == "egress" {
		vals["traffic-path"] = "1"
		if strings.HasPrefix(dst, "10.") {
			vals["traffic-path"] = "1"
		} else if svcDst != "" {
			vals["traffic-path"] = pick(r, []string{"2", "7"})
		} else {
			vals["traffic-path"] = pick(r, []string{"2", "8"})
		}
	}
	vals["pkt-src-aws-service"], vals["pkt-dst-aws-service"] = svcSrc, svcDst
}

// attackFlow turns vals into an accepted SSH flow from the scenario's attacker to an instance.
func (c *chain) attackFlow(vals map[string]string, ws time.Time) {
	end := c.r.between(ws, window)
	if end.Before(c.sshOpenedAt) {
		end = c.sshOpenedAt.Add(time.Duration(1+c.r.IntN(30)) * time.Second)
	}
	dst := c.privateIP()
	vals["start"] = strconv.FormatInt(end.Add(-time.Duration(c.r.IntN(50))*time.Second).Unix(), 10)
	vals["end"] = strconv.FormatInt(end.Unix(), 10)
	vals["log-status"], vals["type"], vals["action"] = "OK", "IPv4", "ACCEPT"
	vals["srcaddr"], vals["pkt-srcaddr"] = c.g.attackerIP, c.g.attackerIP
	vals["dstaddr"], vals["pkt-dstaddr"] = dst, dst
	vals["srcport"], vals["dstport"], vals["protocol"] = strconv.Itoa(40000+c.r.IntN(20000)), "22", "6"
	p := 10 + c.r.IntN(200)
	vals["packets"], vals["bytes"] = strconv.Itoa(p), strconv.Itoa(p*(60+c.r.IntN(900)))
	vals["tcp-flags"], vals["flow-direction"], vals["traffic-path"] = "19", "ingress", ""
	vals["pkt-src-aws-service"], vals["pkt-dst-aws-service"] = "", ""
	if vals["instance-id"] == "-" {
		vals["instance-id"] = "i-0" + c.r.hex(16)
	}
}

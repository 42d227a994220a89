package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// resolverRecord is one Route 53 Resolver query-log line, members in the order AWS writes them.
// version and srcport are strings, as in real data ("1.100000", "56067").
type resolverRecord struct {
	Version              string           `json:"version"`
	AccountID            string           `json:"account_id"`
	Region               string           `json:"region"`
	VPCID                string           `json:"vpc_id"`
	QueryTimestamp       string           `json:"query_timestamp"`
	QueryName            string           `json:"query_name"`
	QueryType            string           `json:"query_type"`
	QueryClass           string           `json:"query_class"`
	Rcode                string           `json:"rcode"`
	Answers              []resolverAnswer `json:"answers"`
	SrcAddr              string           `json:"srcaddr"`
	SrcPort              string           `json:"srcport"`
	Transport            string           `json:"transport"`
	SrcIDs               srcIDs           `json:"srcids"`
	FirewallRuleAction   string           `json:"firewall_rule_action,omitempty"`
	FirewallRuleGroupID  string           `json:"firewall_rule_group_id,omitempty"`
	FirewallDomainListID string           `json:"firewall_domain_list_id,omitempty"`
}

type resolverAnswer struct {
	Rdata string `json:"Rdata"`
	Type  string `json:"Type"`
	Class string `json:"Class"`
}

type srcIDs struct {
	Instance                 string `json:"instance,omitempty"`
	ResolverEndpoint         string `json:"resolver_endpoint,omitempty"`
	ResolverNetworkInterface string `json:"resolver_network_interface,omitempty"`
}

// BlockedDomain is the domain that the synthetic DNS Firewall blocks (and the scenario queries).
const BlockedDomain = "update.malware-c2.example."

func (c *chain) resolverKey(t time.Time) string {
	return c.keyPrefix() + "AWSLogs/" + c.acct.ID + "/vpcdnsquerylogs/" + c.vpc + "/" + t.Format("2006/01/02") + "/" +
		c.vpc + "_vpcdnsquerylogs_" + c.acct.ID + "_" + t.Format("20060102T1504Z") + "_" + c.r.hex(8) + ".log.gz"
}

func (c *chain) internalName(ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if c.region == "us-east-1" {
		return host + ".ec2.internal."
	}
	return host + "." + c.region + ".compute.internal."
}

func a(rdata string) resolverAnswer { return resolverAnswer{Rdata: rdata, Type: "A", Class: "IN"} }
func cname(rdata string) resolverAnswer {
	return resolverAnswer{Rdata: rdata, Type: "CNAME", Class: "IN"}
}

// writeResolver writes the query-log file of one 5-minute window, gzip NDJSON.
func (c *chain) writeResolver(ctx context.Context, ws time.Time) error {
	r := c.r
	n := r.poisson(float64(c.g.opts.ResolverQueriesPerHour) / 12)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for range n {
		t := r.between(ws, window)
		ts := t.Format(ctTime)
		if r.chance(0.5) {
			ts = t.Add(time.Duration(r.IntN(1000)) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		}
		rec := resolverRecord{
			Version: "1.100000", AccountID: c.acct.ID, Region: c.region, VPCID: c.vpc, QueryTimestamp: ts,
			QueryClass: "IN", Rcode: "NOERROR", Answers: []resolverAnswer{}, SrcAddr: c.privateIP(),
			SrcPort: strconv.Itoa(1024 + r.IntN(64000)), Transport: "UDP",
		}
		rec.SrcIDs.Instance = "i-0" + r.hex(16)
		if r.chance(0.05) {
			rec.Transport = "TCP"
		}
		switch x := r.IntN(100); {
		case x < 30:
			ip := c.privateIP()
			rec.QueryName, rec.QueryType, rec.Answers = c.internalName(ip), "A", []resolverAnswer{a(ip)}
		case x < 50:
			svc := pick(r, []string{"s3", "dynamodb", "sts", "sqs", "logs"})
			rec.QueryName, rec.QueryType = svc+"."+c.region+".amazonaws.com.", "A"
			for range 1 + r.IntN(3) {
				rec.Answers = append(rec.Answers, a("52.216."+strconv.Itoa(r.IntN(256))+"."+strconv.Itoa(1+r.IntN(254))))
			}
		case x < 62:
			rec.QueryName, rec.QueryType = "www.example.com.", "A"
			rec.Answers = []resolverAnswer{cname("www.example.com.cdn.example.net."), cname("edge-7.cdn.example.net."), a(r.publicIP())}
		case x < 70:
			rec.QueryName, rec.QueryType = pick(r, []string{"api.github.com.", "registry.npmjs.org.", "proxy.golang.org."}), "AAAA"
		case x < 78:
			rec.QueryName, rec.QueryType, rec.Rcode = pick(r, []string{"intranet.corp.example.", "db-primary.internal.example.", "wpad."}), "A", "NXDOMAIN"
			if r.chance(0.2) {
				rec.QueryName = strings.TrimSuffix(rec.QueryName, ".") // real logs sometimes omit the root dot
			}
		case x < 85:
			o3, o4 := r.IntN(16), 4+r.IntN(250)
			rec.QueryName, rec.QueryType = strconv.Itoa(o4)+"."+strconv.Itoa(o3)+"."+strconv.Itoa(c.vpcOctet)+".10.in-addr.arpa.", "PTR"
			rec.Answers = []resolverAnswer{{Rdata: c.internalName("10." + strconv.Itoa(c.vpcOctet) + "." + strconv.Itoa(o3) + "." + strconv.Itoa(o4)), Type: "PTR", Class: "IN"}}
		case x < 92:
			// From on premises through an inbound Resolver endpoint.
			rec.SrcAddr = "192.168." + strconv.Itoa(r.IntN(4)) + "." + strconv.Itoa(2+r.IntN(250))
			rec.SrcIDs = srcIDs{ResolverEndpoint: "rslvr-in-" + r.hex(17), ResolverNetworkInterface: "rni-" + r.hex(17)}
			ip := c.privateIP()
			rec.QueryName, rec.QueryType, rec.Answers = c.internalName(ip), "A", []resolverAnswer{a(ip)}
		case x < 95:
			rec.SrcIDs = srcIDs{}
			rec.QueryName, rec.QueryType = "time.aws.com.", "A"
			rec.Answers = []resolverAnswer{a("169.254.169.123")}
		case x < 98:
			rec.QueryName, rec.QueryType, rec.Rcode = BlockedDomain, "A", "NXDOMAIN"
			rec.FirewallRuleAction, rec.FirewallRuleGroupID, rec.FirewallDomainListID = "BLOCK", "rslvr-frg-"+c.vpc[4:19], "rslvr-fdl-"+c.vpc[4:17]
		default:
			rec.QueryName, rec.QueryType = "ip-127-0-0-62.alert.firewall.canary.", "A"
			rec.Answers = []resolverAnswer{a("127.0.0.62")}
			rec.FirewallRuleAction, rec.FirewallRuleGroupID, rec.FirewallDomainListID = "ALERT", "rslvr-frg-"+c.vpc[4:19], "rslvr-fdl-"+c.vpc[4:17]
		}
		if err := enc.Encode(&rec); err != nil {
			return err
		}
	}
	body, err := c.gzip(b.Bytes())
	if err != nil {
		return err
	}
	return c.put(ctx, TableResolver, c.resolverKey(ws.Add(window)), body, nil, n)
}

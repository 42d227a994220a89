package synth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/pkg/digest"
)

// Table names, equal to parse.Source names, so that manifest counts compare directly with what the
// ingest pipeline reports per table.
const (
	TableCloudTrail = "cloudtrail"
	TableInsight    = "insight"
	TableDigest     = "digest"
	TableVPCFlow    = "vpcflow"
	TableResolver   = "resolver"
)

// Manifest is the ground truth of a generated archive.
type Manifest struct {
	Seed       uint64    `json:"seed"`
	OrgID      string    `json:"orgId"`
	Bucket     string    `json:"bucket"`
	Prefix     string    `json:"prefix,omitempty"`
	TrailName  string    `json:"trailName"`
	HomeRegion string    `json:"homeRegion"`
	Accounts   []Account `json:"accounts"`
	Regions    []string  `json:"regions"`
	Start      time.Time `json:"start"`
	Hours      int       `json:"hours"`
	// AttackerIP is the scenario's source address: in the failed logins, the SwitchRole and the later
	// calls, and in prod's flow logs as accepted SSH connections once the security group is opened.
	AttackerIP string `json:"attackerIp"`
	// KeyRotation is when each region's second key takes over from the first.
	KeyRotation time.Time `json:"keyRotation"`

	// Options that shape the output beyond sizes.
	FlowLogHive     bool `json:"flowLogHive,omitempty"`
	FlowLogHourly   bool `json:"flowLogHourly,omitempty"`
	FlowLogParquet  bool `json:"flowLogParquet,omitempty"`
	NetworkActivity bool `json:"networkActivity,omitempty"`
	// Chains describes each account × region: its VPC and flow log, and the flow-log format it uses.
	Chains []Chain `json:"chains"`

	// Tables counts the objects written (present in the bucket) per table.
	Tables map[string]TableCount `json:"tables"`
	// EmptyDigests counts written digests with an empty logFiles list.
	EmptyDigests int `json:"emptyDigests"`
	// Objects lists every object written, in generation order (chain by chain).
	Objects  []Object        `json:"objects"`
	Scenario []ScenarioEvent `json:"scenario"`
	Tampered []Tampering     `json:"tampered"`
	// Duplicates are the eventIDs CloudTrail delivered twice (identical records in two files).
	Duplicates []string `json:"duplicates"`
	// Backfill lists the backfill digests (Options.Backfill).
	Backfill []BackfillDigest `json:"backfill,omitempty"`
	// PublicKeys maps each source region to its published keys (list-public-keys shape).
	PublicKeys map[string]digest.PublicKeyList `json:"publicKeys"`
}

// Chain is what one account writes in one region.
type Chain struct {
	Account    string   `json:"account"`
	Region     string   `json:"region"`
	VPC        string   `json:"vpc"`
	FlowLogID  string   `json:"flowLogId"`
	FlowFormat string   `json:"flowFormat"` // "default", "custom-v5" or "custom-v5-alpha"
	FlowFields []string `json:"flowFields"` // the format's fields, in header order
}

// TableCount is the size of one table in a generated archive.
type TableCount struct {
	Files   int   `json:"files"`
	Records int   `json:"records"` // log records; 0 for digests
	Bytes   int64 `json:"bytes"`   // stored (compressed) bytes
}

// Object is one written object.
type Object struct {
	Table   string `json:"table"`
	Key     string `json:"key"`
	Account string `json:"account"`
	Region  string `json:"region"`
	Records int    `json:"records"`
	Size    int    `json:"size"`
}

// Events returns the scenario events of the given scenario.
func (m *Manifest) Events(scenario string) []ScenarioEvent {
	var out []ScenarioEvent
	for _, e := range m.Scenario {
		if e.Scenario == scenario {
			out = append(out, e)
		}
	}
	return out
}

type generator struct {
	opts       Options
	puts       chan putReq // to the writer pool
	keys       *keyring
	chains     []*chain
	globalReg  string // where IAM, sign-in and Organizations events are logged
	attackerIP string
	rotation   time.Time
}

func newGenerator(opts Options) (*generator, error) {
	g := &generator{opts: opts, globalReg: opts.Regions[0]}
	g.attackerIP = "185.220.101." + strconv.Itoa(10+newRand(opts.Seed, "attacker").IntN(200))
	if slices.Contains(opts.Regions, "us-east-1") {
		g.globalReg = "us-east-1"
	}
	// The rotation falls on the hour boundary in the middle of the run, so that both keys sign digests.
	g.rotation = opts.Start.Add(time.Duration((opts.Hours+1)/2) * time.Hour)
	kr, err := newKeyring(opts.Seed, opts.Regions, g.rotation, slices.Contains(opts.Tamper, TamperUnknownKey))
	if err != nil {
		return nil, err
	}
	g.keys = kr
	for _, a := range opts.Accounts {
		p := newPrincipals(opts.Seed, a)
		ar := newRand(opts.Seed, "account", a.ID)
		// Digest boundaries are aligned across the regions of an account, at a seconds-precise offset.
		offset := 15*time.Minute + time.Duration(ar.IntN(30*60))*time.Second
		for _, region := range opts.Regions {
			c := &chain{
				g: g, idx: len(g.chains), acct: a, region: region, p: p,
				r:            newRand(opts.Seed, "chain", a.ID, region),
				digestOffset: offset,
				quietK:       -1,
				backfillK:    -1,
				vpcOctet:     (len(g.chains)*7 + 16) % 250,
			}
			c.vpc = "vpc-0" + c.r.hex(16)
			c.subnet = "subnet-0" + c.r.hex(16)
			c.appBucket = a.Name + "-app-data-" + a.ID + "-" + region
			c.kmsKey = c.r.uuid()
			c.vpce = c.r.hex(16)
			c.flowLogID = "fl-0" + c.r.hex(16)
			c.flowFormat = flowFormats[len(g.chains)%len(flowFormats)]
			if opts.FlowLogParquet {
				c.flowSchema = flowParquetSchema(c.flowFormat)
			}
			c.scenario = a.Name == ProdAccountName && region == g.globalReg
			c.insights = a.Name == ProdAccountName && region == opts.HomeRegion
			g.chains = append(g.chains, c)
		}
	}
	// One chain without any delivery for a whole digest window, so the archive has an empty digest
	// between non-empty ones: the last chain that carries no scenario.
	if opts.Hours >= 2 {
		for i := len(g.chains) - 1; i >= 0; i-- {
			if !g.chains[i].scenario {
				g.chains[i].quietK = 1
				break
			}
		}
	}
	if err := g.planTampering(); err != nil {
		return nil, err
	}
	g.chains[0].duplicates = true
	if opts.Backfill {
		if err := g.planBackfill(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// putReq is one object on its way to the ObjectWriter.
type putReq struct {
	key  string
	body []byte
	meta map[string]string
}

// planBackfill picks a chain and window for the backfill digest where nothing else happens (no
// scenario, quiet window or tampering), so the backfill is the only oddity there.
func (g *generator) planBackfill() error {
	for k := min(1, g.opts.Hours-1); k <= max(1, g.opts.Hours-1); k++ {
		for _, c := range g.chains {
			touched := c.scenario || c.quietK == k
			for _, p := range c.tampers {
				touched = touched || p.k == k || (p.kind == TamperDeleteTwoDigests && p.k+1 == k)
			}
			if !touched {
				c.backfillK = k
				return nil
			}
		}
	}
	return &OptionsError{Field: "Backfill", Reason: "no chain and hour left without tampering; add accounts, regions or hours"}
}

func (g *generator) run(ctx context.Context, w ObjectWriter) (*Manifest, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Writes go through a pool of their own: stores are I/O-bound (a local mirror fsyncs every object),
	// generation is CPU-bound, so they overlap instead of taking turns.
	g.puts = make(chan putReq, 4*g.opts.Writers)
	var putErr error
	var putOnce sync.Once
	var pool sync.WaitGroup
	for range g.opts.Writers {
		pool.Go(func() {
			for req := range g.puts {
				if ctx.Err() != nil {
					continue // drain after a failure
				}
				if err := w.Put(ctx, g.opts.Bucket, req.key, req.body, req.meta); err != nil {
					putOnce.Do(func() { putErr = fmt.Errorf("synth: put s3://%s/%s: %w", g.opts.Bucket, req.key, err) })
					cancel()
				}
			}
		})
	}
	sem := make(chan struct{}, g.opts.Workers)
	errs := make([]error, len(g.chains))
	var wg sync.WaitGroup
	for i, c := range g.chains {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if err := c.run(ctx); err != nil {
				errs[i] = fmt.Errorf("synth: chain %s/%s: %w", c.acct.ID, c.region, err)
				cancel()
			}
		})
	}
	wg.Wait()
	close(g.puts)
	pool.Wait()
	if putErr != nil {
		return nil, putErr
	}
	// Report the cause, not the cancellations it triggered in the other chains.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || (errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled))) {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	o := g.opts
	m := &Manifest{
		Seed: o.Seed, OrgID: o.OrgID, Bucket: o.Bucket, Prefix: o.Prefix, TrailName: o.TrailName, HomeRegion: o.HomeRegion,
		Accounts: slices.Clone(o.Accounts), Regions: slices.Clone(o.Regions), Start: o.Start, Hours: o.Hours, KeyRotation: g.rotation,
		AttackerIP: g.attackerIP,
		Tables:     map[string]TableCount{}, Scenario: []ScenarioEvent{}, Tampered: []Tampering{}, Duplicates: []string{},
		PublicKeys: g.keys.publicKeys(),
	}
	m.FlowLogHive, m.FlowLogHourly, m.FlowLogParquet, m.NetworkActivity = o.FlowLogHive, o.FlowLogHourly, o.FlowLogParquet, o.NetworkActivity
	for _, c := range g.chains {
		m.Chains = append(m.Chains, Chain{Account: c.acct.ID, Region: c.region, VPC: c.vpc, FlowLogID: c.flowLogID,
			FlowFormat: c.flowFormat.name, FlowFields: slices.Clone(c.flowFormat.fields)})
		for _, obj := range c.objects {
			m.Objects = append(m.Objects, obj)
			tc := m.Tables[obj.Table]
			tc.Files++
			tc.Records += obj.Records
			tc.Bytes += int64(obj.Size)
			m.Tables[obj.Table] = tc
		}
		m.EmptyDigests += c.emptyDigests
		m.Scenario = append(m.Scenario, c.scenarioEvents...)
		m.Tampered = append(m.Tampered, c.tampered...)
		m.Duplicates = append(m.Duplicates, c.duplicateIDs...)
		m.Backfill = append(m.Backfill, c.backfill...)
	}
	// Tamperings were applied chain by chain; report them in the order they were asked for.
	slices.SortStableFunc(m.Tampered, func(a, b Tampering) int { return a.order - b.order })
	for _, want := range g.opts.Tamper {
		found := false
		for _, t := range m.Tampered {
			found = found || t.Kind == want
		}
		if !found {
			return nil, fmt.Errorf("synth: tampering %s found nothing to tamper with (too few events per hour?)", want)
		}
	}
	return m, nil
}

// chain generates everything one account writes in one region: its CloudTrail logs and digest chain,
// its flow logs and Resolver query logs. Chains are independent, so they run concurrently.
type chain struct {
	g            *generator
	idx          int
	acct         Account
	region       string
	r            *rng
	p            *principals
	digestOffset time.Duration
	quietK       int // digest window without deliveries, -1 for none
	scenario     bool
	insights     bool
	duplicates   bool      // re-deliver a few events
	sshOpenedAt  time.Time // scenario: when SSH was opened to the world; the attacker connects after
	backfillK    int       // digest window whose first log goes to a backfill digest instead, -1 for none
	backfillDone bool
	tampers      []*tamperPlan

	vpc, subnet, appBucket, kmsKey, vpce string
	vpcOctet                             int
	flowLogID                            string
	flowFormat                           flowFormat
	flowSchema                           *parquet.Schema // when FlowLogParquet

	gz   *gzip.Writer
	gbuf bytes.Buffer

	logs           []logFile
	objects        []Object
	scenarioEvents []ScenarioEvent
	tampered       []Tampering
	emptyDigests   int
	duplicateIDs   []string
	backfill       []BackfillDigest
}

// logFile is a delivered CloudTrail log file, as its digest will list it.
type logFile struct {
	backfill       bool // held back from its window's digest, listed by a backfill digest
	key            string
	hash           string
	delivered      time.Time
	oldest, newest time.Time
}

func (c *chain) keyPrefix() string {
	if c.g.opts.Prefix == "" {
		return ""
	}
	return c.g.opts.Prefix + "/"
}

// digestEnd returns the end of digest window k (k = 0 is the starting digest).
func (c *chain) digestEnd(k int) time.Time {
	return c.g.opts.Start.Add(c.digestOffset + time.Duration(k)*time.Hour)
}

// digestIndex returns the digest window a delivery at t falls in.
func (c *chain) digestIndex(t time.Time) int {
	d := t.Sub(c.digestEnd(0))
	if d < 0 {
		return 0
	}
	return int(d/time.Hour) + 1
}

func (c *chain) gzip(data []byte) ([]byte, error) {
	c.gbuf.Reset()
	if c.gz == nil {
		// A fixed level and a zero header (no name, no time) make the bytes a function of the input.
		gz, err := gzip.NewWriterLevel(&c.gbuf, gzip.DefaultCompression)
		if err != nil {
			return nil, fmt.Errorf("gzip writer: %w", err)
		}
		c.gz = gz
	} else {
		c.gz.Reset(&c.gbuf)
	}
	if _, err := c.gz.Write(data); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := c.gz.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return bytes.Clone(c.gbuf.Bytes()), nil
}

func (c *chain) put(ctx context.Context, table, key string, body []byte, meta map[string]string, records int) error {
	select {
	case c.g.puts <- putReq{key: key, body: body, meta: meta}:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.objects = append(c.objects, Object{Table: table, Key: key, Account: c.acct.ID, Region: c.region, Records: records, Size: len(body)})
	return nil
}

const window = 5 * time.Minute

// maxRecordsPerFile splits busy windows into several files, as CloudTrail does.
const maxRecordsPerFile = 400

func (c *chain) run(ctx context.Context) error {
	o := c.g.opts
	var plants []planted
	if c.scenario {
		plants = c.plantScenario()
	}
	tmpl := c.templateWeights()
	end := o.Start.Add(time.Duration(o.Hours) * time.Hour)
	mean := float64(max(o.EventsPerHour, 0)) / 12
	var prev []*ctRecord
	wi := -1
	for ws := o.Start; ws.Before(end); ws = ws.Add(window) {
		wi++
		delivered := ws.Add(window + time.Minute + time.Duration(c.r.IntN(8*60))*time.Second)
		var recs []*ctRecord
		var mine []planted
		for _, p := range plants {
			if !p.rec.t.Before(ws) && p.rec.t.Before(ws.Add(window)) {
				mine = append(mine, p)
			}
		}
		quiet := c.digestIndex(delivered) == c.quietK && len(mine) == 0
		if !quiet {
			n := c.r.poisson(mean)
			for range n {
				t := c.r.between(ws, window)
				recs = append(recs, templates[c.r.weighted(tmpl)].build(c, t))
			}
			// CloudTrail occasionally delivers an event again in a later file, same eventID. Only
			// ordinary records are candidates (writeCloudTrail shuffles recs, hence the copy).
			ordinary := slices.Clone(recs)
			if c.duplicates && wi >= 2 && wi <= 4 && len(prev) > 0 {
				d := prev[c.r.IntN(len(prev))]
				recs = append(recs, d)
				c.duplicateIDs = append(c.duplicateIDs, d.EventID)
			}
			prev = ordinary
			for _, p := range mine {
				recs = append(recs, p.rec)
			}
			if err := c.writeCloudTrail(ctx, recs, mine, delivered); err != nil {
				return err
			}
		}
		if o.FlowRecordsPerHour > 0 {
			if err := c.writeFlowLog(ctx, ws); err != nil {
				return err
			}
		}
		if o.ResolverQueriesPerHour > 0 {
			if err := c.writeResolver(ctx, ws); err != nil {
				return err
			}
		}
		if o.NetworkActivity {
			if err := c.writeNetworkActivity(ctx, ws); err != nil {
				return err
			}
		}
	}
	if c.insights {
		if err := c.writeInsights(ctx); err != nil {
			return err
		}
	}
	return c.writeDigests(ctx)
}

func (c *chain) templateWeights() []int {
	w := slices.Clone(templateWeights)
	if c.region != c.g.globalReg {
		for i, t := range templates {
			if t.global {
				w[i] = 0
			}
		}
	}
	return w
}

func (c *chain) ctKey(folder, kind string, t time.Time, stamp string) string {
	o := c.g.opts
	return c.keyPrefix() + "AWSLogs/" + o.OrgID + "/" + c.acct.ID + "/" + folder + "/" + c.region + "/" + t.Format("2006/01/02") + "/" +
		c.acct.ID + "_" + kind + "_" + c.region + "_" + stamp
}

// writeCloudTrail writes one delivery: one file, or several when the window is busy.
func (c *chain) writeCloudTrail(ctx context.Context, recs []*ctRecord, mine []planted, delivered time.Time) error {
	if len(recs) == 0 {
		// CloudTrail delivers nothing for a quiet window.
		return nil
	}
	// CloudTrail files are not ordered by event time; shuffle so that consumers cannot rely on it.
	c.r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	parts := 1 + (len(recs)-1)/maxRecordsPerFile
	if parts == 1 && len(recs) >= 8 && c.r.chance(0.15) {
		parts = 2
	}
	per := (len(recs) + parts - 1) / parts
	for len(recs) > 0 {
		n := min(per, len(recs))
		part := recs[:n]
		recs = recs[n:]
		key := c.ctKey("CloudTrail", "CloudTrail", delivered, delivered.Format("20060102T1504Z")+"_"+c.r.mixedAlnum(16)+".json.gz")
		inflated, err := marshalRecords(part)
		if err != nil {
			return err
		}
		lf := logFile{key: key, delivered: delivered, oldest: part[0].t, newest: part[0].t}
		for _, r := range part {
			if r.t.Before(lf.oldest) {
				lf.oldest = r.t
			}
			if r.t.After(lf.newest) {
				lf.newest = r.t
			}
		}
		sum := sha256.Sum256(inflated)
		lf.hash = hex.EncodeToString(sum[:])
		hasPlanted := false
		for _, p := range mine {
			if slices.Contains(part, p.rec) {
				hasPlanted = true
				c.scenarioEvents = append(c.scenarioEvents, ScenarioEvent{
					Scenario: p.scenario, EventID: p.rec.EventID, EventName: p.rec.EventName,
					Account: c.acct.ID, Region: c.region, Time: p.rec.t, Key: key,
				})
			}
		}
		if c.backfillK >= 0 && !c.backfillDone && !hasPlanted && c.digestIndex(delivered) == c.backfillK {
			lf.backfill, c.backfillDone = true, true
		}
		c.logs = append(c.logs, lf)
		body, err := c.gzip(inflated)
		if err != nil {
			return err
		}
		body, skip, err := c.tamperLog(lf, inflated, body, hasPlanted)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		if err := c.put(ctx, TableCloudTrail, key, body, nil, len(part)); err != nil {
			return err
		}
	}
	return nil
}

// marshalRecords renders {"Records":[…]} compactly, without HTML escaping, like CloudTrail.
func marshalRecords[T any](recs []T) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for i, r := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := enc.Encode(r); err != nil {
			return nil, fmt.Errorf("marshal record: %w", err)
		}
		b.Truncate(b.Len() - 1) // Encode's newline
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

// writeNetworkActivity writes, for about half the windows, a file of VPC endpoint network activity
// events. Two details are assumptions [unverified]: the file name follows the CloudTrail-Insight
// pattern (AWS documents only the folder), and digests do not list these files.
func (c *chain) writeNetworkActivity(ctx context.Context, ws time.Time) error {
	if !c.r.chance(0.5) {
		return nil
	}
	n := 1 + c.r.IntN(4)
	recs := make([]*ctRecord, 0, n)
	for range n {
		t := c.r.between(ws, window)
		a := c.pickActor(t, false)
		a.ip = c.privateIP()
		call := pick(c.r, [][2]string{{"s3.amazonaws.com", "GetObject"}, {"kms.amazonaws.com", "Decrypt"},
			{"secretsmanager.amazonaws.com", "GetSecretValue"}, {"cloudtrail.amazonaws.com", "ListTrails"}, {"ec2.amazonaws.com", "DescribeInstances"}})
		rec := c.newRecord(t, a, call[0], call[1], true)
		rec.EventVersion = "1.11"
		rec.EventType = "AwsVpceEvent"
		rec.EventCategory = "NetworkActivity"
		rec.ReadOnly, rec.ManagementEvent, rec.TLSDetails, rec.Addendum = nil, nil, nil, nil
		rec.SessionCredentialFromConsole = ""
		rec.SharedEventID = c.r.uuid()
		rec.VPCEndpointID, rec.VPCEndpointAccountID = "vpce-0"+c.vpce, c.acct.ID
		if c.r.chance(0.2) {
			// A caller outside the organization, stopped by the endpoint policy.
			rec.UserIdentity = &identity{Type: "AWSAccount", PrincipalID: "", AccountID: "999988887777"}
			rec.ErrorCode, rec.ErrorMessage = "VpceAccessDenied", "The request was denied due to a VPC endpoint policy"
		}
		recs = append(recs, rec)
	}
	delivered := ws.Add(window + time.Duration(60+c.r.IntN(8*60))*time.Second)
	key := c.ctKey("CloudTrail-NetworkActivity", "CloudTrail-NetworkActivity", delivered, delivered.Format("20060102T1504Z")+"_"+c.r.mixedAlnum(16)+".json.gz")
	inflated, err := marshalRecords(recs)
	if err != nil {
		return err
	}
	body, err := c.gzip(inflated)
	if err != nil {
		return err
	}
	return c.put(ctx, TableCloudTrail, key, body, nil, n)
}

func (c *chain) writeInsights(ctx context.Context) error {
	o := c.g.opts
	span := time.Duration(o.Hours) * time.Hour
	start := o.Start.Add(span / 4).Truncate(time.Minute)
	end := start.Add(22 * time.Minute)
	pair := c.insightPair(start, end)
	for i, rec := range pair {
		t := start
		if i == 1 {
			t = end
		}
		delivered := t.Add(time.Duration(5+c.r.IntN(25)) * time.Minute)
		key := c.ctKey("CloudTrail-Insight", "CloudTrail-Insight", delivered, delivered.Format("20060102T1504Z")+"_"+c.r.mixedAlnum(16)+".json.gz")
		inflated, err := marshalRecords([]insightRecord{rec})
		if err != nil {
			return err
		}
		body, err := c.gzip(inflated)
		if err != nil {
			return err
		}
		if err := c.put(ctx, TableInsight, key, body, nil, 1); err != nil {
			return err
		}
	}
	return nil
}

func (c *chain) digestKey(end time.Time) string {
	o := c.g.opts
	return c.keyPrefix() + "AWSLogs/" + o.OrgID + "/" + c.acct.ID + "/CloudTrail-Digest/" + c.region + "/" + end.Format("2006/01/02") + "/" +
		c.acct.ID + "_CloudTrail-Digest_" + c.region + "_" + o.TrailName + "_" + o.HomeRegion + "_" + end.Format("20060102T150405Z") + ".json.gz"
}

// writeDigests writes the chain's digests: a starting digest, then one per hour until every delivery
// is covered; each links to its predecessor by location, hash and signature.
func (c *chain) writeDigests(ctx context.Context) error {
	o := c.g.opts
	keys := c.g.keys.regions[c.region]
	var prev *digest.Digest
	var prevHash, prevSig string
	start := o.Start
	for k := 0; k <= o.Hours; k++ {
		end := c.digestEnd(k)
		d := &digest.Digest{
			AWSAccountID:             c.acct.ID,
			DigestStartTime:          start.Format(ctTime),
			DigestEndTime:            end.Format(ctTime),
			DigestS3Bucket:           o.Bucket,
			DigestS3Object:           c.digestKey(end),
			DigestSignatureAlgorithm: digest.SignatureAlgorithm,
			LogFiles:                 []digest.LogFile{},
		}
		var oldest, newest time.Time
		for _, lf := range c.logs {
			if lf.backfill || lf.delivered.Before(start) || !lf.delivered.Before(end) {
				continue
			}
			d.LogFiles = append(d.LogFiles, digest.LogFile{
				S3Bucket: o.Bucket, S3Object: lf.key, HashValue: lf.hash, HashAlgorithm: "SHA-256",
				NewestEventTime: lf.newest.Format(ctTime), OldestEventTime: lf.oldest.Format(ctTime),
			})
			if oldest.IsZero() || lf.oldest.Before(oldest) {
				oldest = lf.oldest
			}
			if lf.newest.After(newest) {
				newest = lf.newest
			}
		}
		if len(d.LogFiles) > 0 {
			d.OldestEventTime = ptr(oldest.Format(ctTime))
			d.NewestEventTime = ptr(newest.Format(ctTime))
		}
		if prev != nil {
			d.PreviousDigestS3Bucket = ptr(prev.DigestS3Bucket)
			d.PreviousDigestS3Object = ptr(prev.DigestS3Object)
			d.PreviousDigestHashValue = ptr(prevHash)
			d.PreviousDigestHashAlgorithm = ptr("SHA-256")
			d.PreviousDigestSignature = ptr(prevSig)
		}
		key := keys.forTime(end)
		plan := c.digestTamper(k)
		if plan != nil && plan.kind == TamperUnknownKey {
			key = c.g.keys.unknown
		}
		d.DigestPublicKeyFingerprint = key.fingerprint
		inflated, err := digest.Marshal(d)
		if err != nil {
			return err
		}
		sig, err := key.sign(digest.StringToSign(d, inflated))
		if err != nil {
			return err
		}
		body, err := c.gzip(inflated)
		if err != nil {
			return err
		}
		meta := map[string]string{digest.MetaSignature: sig, digest.MetaSignatureAlgorithm: digest.SignatureAlgorithm}
		if err := c.writeDigest(ctx, k, d, body, meta); err != nil {
			return err
		}
		sum := sha256.Sum256(inflated)
		prev, prevHash, prevSig = d, hex.EncodeToString(sum[:]), sig
		start = end
	}
	return c.writeBackfill(ctx)
}

// BackfillDigest describes a backfill digest: it lists log files that processing delays kept out of
// their window's digest, starts a chain of its own and is signed with the key valid when it was
// generated (GeneratedAt, also in its backfill-generation-timestamp metadata).
type BackfillDigest struct {
	Key         string    `json:"key"`
	LogKeys     []string  `json:"logKeys"`
	GeneratedAt time.Time `json:"generatedAt"`
}

func (c *chain) writeBackfill(ctx context.Context) error {
	o := c.g.opts
	var logs []logFile
	for _, lf := range c.logs {
		if lf.backfill {
			logs = append(logs, lf)
		}
	}
	if len(logs) == 0 {
		return nil
	}
	k := c.backfillK
	end := c.digestEnd(k)
	start := o.Start
	if k > 0 {
		start = c.digestEnd(k - 1)
	}
	// Generated after the last regular digest, so the newer key signs it and validators must look
	// the key up around the generation time rather than the digest's end.
	gen := c.digestEnd(o.Hours).Add(30 * time.Minute)
	key := c.g.keys.regions[c.region].forTime(gen)
	d := &digest.Digest{
		AWSAccountID:               c.acct.ID,
		DigestStartTime:            start.Format(ctTime),
		DigestEndTime:              end.Format(ctTime),
		DigestS3Bucket:             o.Bucket,
		DigestS3Object:             strings.TrimSuffix(c.digestKey(end), ".json.gz") + "_backfill.json.gz",
		DigestPublicKeyFingerprint: key.fingerprint,
		DigestSignatureAlgorithm:   digest.SignatureAlgorithm,
	}
	oldest, newest := logs[0].oldest, logs[0].newest
	info := BackfillDigest{Key: d.DigestS3Object, GeneratedAt: gen}
	for _, lf := range logs {
		d.LogFiles = append(d.LogFiles, digest.LogFile{
			S3Bucket: o.Bucket, S3Object: lf.key, HashValue: lf.hash, HashAlgorithm: "SHA-256",
			NewestEventTime: lf.newest.Format(ctTime), OldestEventTime: lf.oldest.Format(ctTime),
		})
		oldest, newest = minTime(oldest, lf.oldest), maxTime(newest, lf.newest)
		info.LogKeys = append(info.LogKeys, lf.key)
	}
	d.OldestEventTime, d.NewestEventTime = ptr(oldest.Format(ctTime)), ptr(newest.Format(ctTime))
	inflated, err := digest.Marshal(d)
	if err != nil {
		return err
	}
	sig, err := key.sign(digest.StringToSign(d, inflated))
	if err != nil {
		return err
	}
	body, err := c.gzip(inflated)
	if err != nil {
		return err
	}
	meta := map[string]string{
		digest.MetaSignature: sig, digest.MetaSignatureAlgorithm: digest.SignatureAlgorithm,
		digest.MetaBackfillTimestamp: gen.Format(ctTime),
	}
	if err := c.put(ctx, TableDigest, d.DigestS3Object, body, meta, 0); err != nil {
		return err
	}
	c.backfill = append(c.backfill, info)
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (c *chain) writeDigest(ctx context.Context, k int, d *digest.Digest, body []byte, meta map[string]string) error {
	key := d.DigestS3Object
	empty := len(d.LogFiles) == 0
	plan := c.digestTamper(k)
	if plan != nil {
		var err error
		key, body, meta, err = c.applyDigestTamper(ctx, plan, k, d, body, meta)
		if err != nil || key == "" {
			return err // deleted, or failed
		}
	}
	if err := c.put(ctx, TableDigest, key, body, meta, 0); err != nil {
		return err
	}
	if empty {
		c.emptyDigests++
	}
	return nil
}

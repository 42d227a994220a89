package ocsf

// rowBytes estimates the heap a row keeps alive while the writer core stages it (by value, in a
// slice of its class): what its class table's size walk finds (sink.TableDef.RowBytes: the struct,
// every pointer's target, strings, lists and the unmapped map, compiled from the row type so a new
// field is counted without a hand-written sizer to forget), plus raw, the length of the record
// text the row was mapped from (0 if none). The decoders' strings alias a buffer per record
// (CloudTrail's packed values, a Resolver line) or per chunk of lines (flow logs), and a row
// holding any of them keeps that buffer alive, so the text counts whole; the walk counts the
// strings aliasing it by their length again, an overcount of at most the text (the free-form JSON
// members are the bulk of it). TestRowBytesCoversHeap measures it against the heap for every class.
func (l *Layout) rowBytes(r Row, raw int) int64 {
	n := int64(raw)
	switch x := r.(type) {
	case *APIActivity:
		n += l.api.RowBytes(x)
	case *Authentication:
		n += l.auth.RowBytes(x)
	case *AccountChange:
		n += l.account.RowBytes(x)
	case *NetworkActivity:
		n += l.network.RowBytes(x)
	case *DNSActivity:
		n += l.dns.RowBytes(x)
	case *DetectionFinding:
		n += l.finding.RowBytes(x)
	}
	return n
}

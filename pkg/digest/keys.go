package digest

import "time"

// PublicKeyList is the shape of `aws cloudtrail list-public-keys --output json`: Value is the
// base64 of the DER key (PKCS#1 normally), Fingerprint the lowercase hex MD5 of those DER bytes.
// A keys file holds either one PublicKeyList (one region) or a JSON object mapping region names to
// PublicKeyList documents.
type PublicKeyList struct {
	PublicKeyList []PublicKey `json:"PublicKeyList"`
}

// PublicKey is one entry of PublicKeyList.
type PublicKey struct {
	Value             []byte    `json:"Value"` // DER; base64 in JSON, as the CLI prints it
	ValidityStartTime time.Time `json:"ValidityStartTime"`
	ValidityEndTime   time.Time `json:"ValidityEndTime"`
	Fingerprint       string    `json:"Fingerprint"`
}

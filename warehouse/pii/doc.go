// Package pii applies a deployment's privacy policy (config: per source
// `pii: {FIELD: keep|hash|mask|drop}`, top-level `pii_key`) to the values
// of a record before it is stored: typed column values (Rules.Value), the
// vendor's JSON kept in raw and custom_attrs (Rules.JSON), identity values
// by identity type (Rules.Identity), and free text such as a rejected
// record's error (Rules.Text).
//
// The warehouse calls it from one place, Warehouse.Load, for every row of
// every table (warehouse/privacy.go); connectors know nothing of it.
// docs/privacy.md is the user's description: fields, the JSON keys each
// field covers, normalization before hashing, the mask shapes.
package pii

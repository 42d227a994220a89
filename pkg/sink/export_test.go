package sink

import (
	"reflect"

	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/pkg/pqwrite"
)

// ShredderError says whether NewTable[T] shreds T and writes it with pqwrite (nil) or keeps
// parquet-go's row path (why).
func ShredderError[T any]() error {
	var zero T
	sc := parquet.SchemaOf(zero)
	if _, err := compileShredder(reflect.TypeFor[T](), sc); err != nil {
		return err
	}
	_, err := pqwrite.Compile(sc)
	return err
}

// poisonResolverBlocks makes s's Athena layout poison the Resolver blocks it recycles, and
// returns the pool (its recycled count).
func poisonResolverBlocks(s *Sink) *blockPool {
	a := s.layout.(*athena)
	a.blocks.poison = true
	return &a.blocks
}

package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// DefaultPageBytes is the byte budget of a page when Page.MaxBytes is not set: 4 MiB,
// four calls with the largest arguments the host accepts (request.MaxArgsBytes, 1 MiB),
// or thousands of ordinary ones, so a default page of 100 ordinary calls is never cut
// short, while one listing costs the host a few MiB, whatever the table holds.
const DefaultPageBytes = 4 << 20

// rowOverheadBytes is what a listed row costs besides its variable-length columns
// (ids, times, names, the JSON keys around them), counted into the page's byte budget.
const rowOverheadBytes = 512

// firstSizeChunk is how many rows' sizes the first step of a page reads. Each further
// step reads as many as the rows seen so far say will fit the rest of the budget, so
// a page of ordinary rows takes two steps and a page of large rows stops after one,
// and PostgreSQL renders few more arguments than the page holds.
const firstSizeChunk = 8

func (p Page) maxBytes() int64 {
	if p.MaxBytes <= 0 {
		return DefaultPageBytes
	}
	return p.MaxBytes
}

// pageQuery describes a listing for boundedPage.
type pageQuery struct {
	table   string
	columns string
	// order sorts the rows.
	order string
	// size is an SQL expression for a row's variable-length bytes in the answer.
	size string
	// where holds the listing's conditions, its cursor included.
	where query
}

// boundedPage reads one page: at most p's limit rows, and no more rows than fit its
// byte budget (the first row always does, so a page makes progress even when one row
// alone exceeds the budget). It first reads the rows' sizes, a growing chunk at a
// time, then the rows that fit, all in one read-only snapshot, so the host never reads
// a row that does not fit. scan reads each row of columns. more says that rows follow.
func (s *Store) boundedPage(ctx context.Context, pq pageQuery, p Page, scan func(pgx.Row) error) (more bool, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var ids []int64
		more, ids, err = pageIDs(ctx, tx, pq, p.limit(), p.maxBytes())
		if err != nil || len(ids) == 0 {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+pq.columns+" FROM "+pq.table+" WHERE id = ANY($1) ORDER BY "+pq.order, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return more, err
}

// pageIDs walks the rows' sizes in order and returns the ids of those that fit. In
// the snapshot of one transaction, OFFSET continues exactly where a chunk ended.
func pageIDs(ctx context.Context, tx pgx.Tx, pq pageQuery, limit int, budget int64) (more bool, ids []int64, err error) {
	var total int64
	for chunk := min(limit+1, firstSizeChunk); ; chunk = nextChunk(limit+1-len(ids), budget-total, total/int64(len(ids))) {
		// The sizes are computed in the outer query, after the LIMIT: in the inner one,
		// PostgreSQL would render the arguments of every matching row before sorting.
		rows, err := tx.Query(ctx, "SELECT id, ("+pq.size+")::bigint FROM "+pq.table+
			" JOIN (SELECT id FROM "+pq.table+pq.where.whereSQL()+" ORDER BY "+pq.order+
			" LIMIT "+strconv.Itoa(chunk)+" OFFSET "+strconv.Itoa(len(ids))+") AS chunk USING (id)"+
			" ORDER BY "+pq.order, pq.where.args...)
		if err != nil {
			return false, nil, err
		}
		n := 0
		var id, size int64
		_, err = pgx.ForEachRow(rows, []any{&id, &size}, func() error {
			n++
			size += rowOverheadBytes
			if more || len(ids) == limit || (len(ids) > 0 && total+size > budget) {
				more = true
				return nil
			}
			ids = append(ids, id)
			total += size
			return nil
		})
		if err != nil {
			return false, nil, fmt.Errorf("page sizes: %w", err)
		}
		if more || n < chunk {
			return more, ids, nil
		}
	}
}

// nextChunk is how many rows' sizes to read next: as many as fit the budget left at
// the average size seen so far, plus the one that tells whether the page ends there,
// and no more than the rows left.
func nextChunk(rowsLeft int, bytesLeft, average int64) int {
	return int(min(int64(rowsLeft), max(bytesLeft, 0)/average+1))
}

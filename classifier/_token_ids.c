/* Token ids and unigram counts for a batch of MeCab output, in one pass each.
 *
 * classifier/token_ids.py does the same with NumPy, and is used when this extension is not
 * built; the tests check that both give the same arrays. NumPy needs about forty passes over a
 * batch, each allocating a temporary array; here one loop reads each code unit once and writes
 * only its results, which also leaves MeCab's tables in the CPU caches between parses.
 *
 * The tables are the ones classifier/token_ids.py builds (_KeyTable): open addressing, slot =
 * top bits of (first word * MIX0 + second word * MIX1), linear probing, an empty slot has id -1.
 * Only plain C and the buffer protocol are used: no NumPy headers are needed to build this.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SPACE 32
#define LINE_BREAK 10
#define UNITS_PER_WORD 4
#define KEY_UNITS 8
static const uint64_t MIX0 = 0x9E3779B97F4A7C15ULL;
static const uint64_t MIX1 = 0xC2B2AE3D27D4EB4FULL;

/* A table's slots, each `width` uint64s: the key's words (one or two), then its id (-1: empty). */
typedef struct {
    const uint64_t *slots;
    int width;
    int bits;
} key_table;

/* UTF-16-LE code unit i, read byte by byte so that the host's byte order does not matter. */
static inline uint64_t unit_at(const unsigned char *bytes, Py_ssize_t i) {
    return (uint64_t)bytes[2 * i] | ((uint64_t)bytes[2 * i + 1] << 8);
}

/* n (at most 4) code units from start, the first in the low bits: the key word NumPy reads. */
static inline uint64_t word_at(const unsigned char *bytes, Py_ssize_t start, Py_ssize_t n) {
    uint64_t word = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        word |= unit_at(bytes, start + i) << (16 * i);
    return word;
}

static inline int64_t find(const key_table *table, uint64_t first, uint64_t second) {
    uint64_t mask = ((uint64_t)1 << table->bits) - 1;
    int two = table->width == 3;
    uint64_t mixed = first * MIX0 + (two ? second * MIX1 : 0);
    uint64_t slot = mixed >> (64 - table->bits);
    for (;;) {
        const uint64_t *entry = table->slots + slot * table->width;
        int64_t id = (int64_t)entry[table->width - 1];
        if (id < 0)
            return -1;
        if (entry[0] == first && (!two || entry[1] == second))
            return id;
        slot = (slot + 1) & mask;
    }
}

/* Release every buffer of a NULL-terminated list. */
static void release(Py_buffer **buffers) {
    for (; *buffers; buffers++)
        PyBuffer_Release(*buffers);
}

/* A table's buffer must hold 2**bits slots of `width` uint64s. */
static int check_table(Py_buffer *slots, int width, int bits, const char *name) {
    if (bits < 1 || bits > 40) {
        PyErr_Format(PyExc_ValueError, "%s table: bits must be 1..40, got %d", name, bits);
        return 0;
    }
    if (slots->len != ((Py_ssize_t)1 << bits) * width * 8) {
        PyErr_Format(PyExc_ValueError, "%s table: the buffer does not hold 2**%d slots", name, bits);
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(lookup_doc,
"lookup(encoded, one_slots, one_bits, two_slots, two_bits, ids, text_of)\n"
"\n"
"Scan UTF-16-LE ``encoded`` (tokens separated by spaces, texts by line breaks) and look each\n"
"token up in the one-word table (slots of key, id) or the two-word one (key, key, id); write each\n"
"token's id into the int64 buffer ``ids`` and its text into ``text_of`` (both with room for\n"
"len(encoded) // 4 + 1 tokens). Returns (tokens, [(token, start, units), ...] for tokens\n"
"longer than eight code units, whose ids are left -1 for the caller to find).");

static PyObject *lookup(PyObject *self, PyObject *args) {
    Py_buffer text, one_slots, two_slots, ids_out, text_out;
    int one_bits, two_bits;
    if (!PyArg_ParseTuple(args, "y*y*iy*iw*w*", &text, &one_slots, &one_bits, &two_slots, &two_bits, &ids_out,
                          &text_out))
        return NULL;
    PyObject *result = NULL, *longer = NULL;
    Py_ssize_t n = text.len / 2;
    Py_ssize_t capacity = n / 2 + 1; /* a token and its separator take two units at least */
    if (!check_table(&one_slots, 2, one_bits, "one-word") || !check_table(&two_slots, 3, two_bits, "two-word"))
        goto done;
    if (ids_out.len < capacity * 8 || text_out.len < capacity * 8) {
        PyErr_SetString(PyExc_ValueError, "ids and text_of need room for len(encoded) // 4 + 1 tokens");
        goto done;
    }
    key_table one = {one_slots.buf, 2, one_bits};
    key_table two = {two_slots.buf, 3, two_bits};
    const unsigned char *bytes = text.buf;
    int64_t *ids = ids_out.buf, *text_of = text_out.buf;
    Py_ssize_t tokens = 0, line = 0, i = 0;
    if (!(longer = PyList_New(0)))
        goto done;
    while (i < n) {
        uint64_t unit = unit_at(bytes, i);
        if (unit == SPACE || unit == LINE_BREAK) {
            line += unit == LINE_BREAK;
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < n && (unit = unit_at(bytes, i)) != SPACE && unit != LINE_BREAK)
            i++;
        Py_ssize_t units = i - start;
        int64_t id = -1;
        if (units <= UNITS_PER_WORD) {
            id = find(&one, word_at(bytes, start, units), 0);
        } else if (units <= KEY_UNITS) {
            id = find(&two, word_at(bytes, start, UNITS_PER_WORD),
                      word_at(bytes, start + UNITS_PER_WORD, units - UNITS_PER_WORD));
        } else {
            PyObject *item = Py_BuildValue("(nnn)", tokens, start, units);
            if (!item || PyList_Append(longer, item) < 0) {
                Py_XDECREF(item);
                goto done;
            }
            Py_DECREF(item);
        }
        ids[tokens] = id;
        text_of[tokens] = line;
        tokens++;
    }
    result = Py_BuildValue("(nO)", tokens, longer);
done:
    Py_XDECREF(longer);
    release((Py_buffer *[]){&text, &one_slots, &two_slots, &ids_out, &text_out, NULL});
    return result;
}

static int compare_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void sort_short(int32_t *run, Py_ssize_t length) {
    if (length > 64) {
        qsort(run, (size_t)length, sizeof(int32_t), compare_int32);
        return;
    }
    for (Py_ssize_t a = 1; a < length; a++) { /* insertion sort: a paragraph has few words */
        int32_t value = run[a];
        Py_ssize_t b = a;
        for (; b > 0 && run[b - 1] > value; b--)
            run[b] = run[b - 1];
        run[b] = value;
    }
}

PyDoc_STRVAR(count_doc,
"count(ids, text_of, n_columns, n_texts, indptr, indices, counts) -> entries\n"
"\n"
"Unigram counts as CSR arrays: ``ids`` (int64, each token's column below n_columns, -1 for none)\n"
"and ``text_of`` (int64, non-decreasing) as lookup wrote them; writes int32 ``indptr``\n"
"(n_texts + 1), ``indices`` and ``counts`` (room for one entry a token), columns sorted within\n"
"each row. Returns the number of entries.");

static PyObject *count(PyObject *self, PyObject *args) {
    Py_buffer ids_in, text_in, indptr_out, indices_out, counts_out;
    Py_ssize_t n_columns, n_texts;
    if (!PyArg_ParseTuple(args, "y*y*nnw*w*w*", &ids_in, &text_in, &n_columns, &n_texts, &indptr_out,
                          &indices_out, &counts_out))
        return NULL;
    PyObject *result = NULL;
    int32_t *fill = NULL, *column_starts = NULL, *by_column = NULL;
    Py_ssize_t n = ids_in.len / 8;
    const int64_t *ids = ids_in.buf, *text_of = text_in.buf;
    int32_t *indptr = indptr_out.buf, *indices = indices_out.buf, *counts = counts_out.buf;
    if (text_in.len != ids_in.len || n_texts < 0 || n_columns < 0 || n_columns > INT32_MAX || n > INT32_MAX ||
        indptr_out.len < (n_texts + 1) * 4 || indices_out.len < n * 4 || counts_out.len < n * 4) {
        PyErr_SetString(PyExc_ValueError, "count: buffer sizes do not match");
        goto done;
    }
    /* Known tokens a row, checking the input on the way. */
    memset(indptr, 0, (size_t)(n_texts + 1) * 4);
    Py_ssize_t known = 0;
    for (Py_ssize_t t = 0; t < n; t++) {
        if (text_of[t] < (t ? text_of[t - 1] : 0) || text_of[t] >= n_texts) {
            PyErr_SetString(PyExc_ValueError, "count: text_of must be non-decreasing and below n_texts");
            goto done;
        }
        if (ids[t] < 0)
            continue;
        if (ids[t] >= n_columns) {
            PyErr_SetString(PyExc_ValueError, "count: an id is not below n_columns");
            goto done;
        }
        indptr[text_of[t] + 1]++;
        known++;
    }
    for (Py_ssize_t row = 0; row < n_texts; row++)
        indptr[row + 1] += indptr[row];
    /* Each row's columns, sorted, at indices[indptr[row]:indptr[row + 1]]. */
    if (known < n_columns / 4) {
        /* few tokens for the vocabulary: gather each row and sort it */
        Py_ssize_t k = 0;
        for (Py_ssize_t t = 0; t < n; t++)
            if (ids[t] >= 0)
                indices[k++] = (int32_t)ids[t];
        for (Py_ssize_t row = 0; row < n_texts; row++)
            sort_short(indices + indptr[row], indptr[row + 1] - indptr[row]);
    } else {
        /* Two stable counting sorts over the whole batch, by column then by row: linear in the
           tokens and the columns, where sorting row by row costs a comparison a step. */
        fill = PyMem_Malloc((size_t)(n_texts + 1) * 4);
        column_starts = PyMem_Calloc((size_t)n_columns + 1, 4);
        by_column = PyMem_Malloc((size_t)(known ? known : 1) * 4);
        if (!fill || !column_starts || !by_column) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t t = 0; t < n; t++)
            if (ids[t] >= 0)
                column_starts[ids[t] + 1]++;
        for (Py_ssize_t c = 0; c < n_columns; c++)
            column_starts[c + 1] += column_starts[c];
        for (Py_ssize_t t = 0; t < n; t++)
            if (ids[t] >= 0)
                by_column[column_starts[ids[t]]++] = (int32_t)t;
        memcpy(fill, indptr, (size_t)(n_texts + 1) * 4);
        for (Py_ssize_t k = 0; k < known; k++) {
            Py_ssize_t t = by_column[k];
            indices[fill[text_of[t]]++] = (int32_t)ids[t];
        }
    }
    /* Runs of equal columns become one entry and its count; rows are compacted in place. */
    Py_ssize_t entries = 0;
    for (Py_ssize_t row = 0; row < n_texts; row++) {
        Py_ssize_t begin = indptr[row], end = indptr[row + 1], first = entries;
        for (Py_ssize_t read = begin; read < end; read++) {
            if (entries > first && indices[read] == indices[entries - 1]) {
                counts[entries - 1]++;
            } else {
                indices[entries] = indices[read];
                counts[entries] = 1;
                entries++;
            }
        }
        indptr[row] = (int32_t)first;
    }
    indptr[n_texts] = (int32_t)entries;
    result = PyLong_FromSsize_t(entries);
done:
    PyMem_Free(fill);
    PyMem_Free(column_starts);
    PyMem_Free(by_column);
    release((Py_buffer *[]){&ids_in, &text_in, &indptr_out, &indices_out, &counts_out, NULL});
    return result;
}

static PyMethodDef methods[] = {
    {"lookup", lookup, METH_VARARGS, lookup_doc},
    {"count", count, METH_VARARGS, count_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "classifier._token_ids",
                                    "Compiled token ids and counts; see classifier/token_ids.py.", -1, methods};

PyMODINIT_FUNC PyInit__token_ids(void) { return PyModule_Create(&module); }

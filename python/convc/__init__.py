"""convc from Python: compile conv Seq2Seq models, run them, translate.

    import convc
    lib = convc.compile("examples/reverse_digits.mlir", decode_step="decode")
    translator = convc.Translator(lib)
    translator.translate_batch([[7, 5, 13, 6, 2]], beam_size=4)[0].hypotheses[0]

`compile` goes through the host API's on-disk cache (docs/host-api.md);
`Module` runs any entry point on numpy arrays; `Translator` is
CTranslate2's `translate_batch` over the runtime's generator. Errors raise
ValueError (bad arguments: dtypes, names, shapes, options),
FileNotFoundError, or convc.Error (a RuntimeError: a module that cannot
load, such as a CUDA module without a GPU). docs/python.md has more.
"""
import operator
import os

import numpy as np

from . import _convc
from ._convc import DeviceArray, Error


def to_device(array):
    """A copy of a numpy array in GPU memory (a DeviceArray) for CUDA
    modules; convc.Error when CUDA is unavailable."""
    return _convc.to_device(array)

__all__ = ["compile", "Module", "Translator", "TranslationResult", "Error", "cuda_status"]


def cuda_status():
    """'' when CUDA modules can run here, else why not ("CUDA unavailable: ...")."""
    return _convc.cuda_status()


def compile(path, output=None, target="cpu", decoder=None, decode_step=None,
            gpu_arch="", cuda_path="", cache_dir="", mcpu=""):
    """Compiles a model (.mlir, or .onnx; with `decoder`, an encoder.onnx +
    decoder.onnx Seq2Seq package) into a shared library and returns its
    path: `output` when given (a copy), else the library in the cache (with
    the cache off, `cache_dir="off"`, a new file in the temporary directory
    that is yours to delete).
    `decode_step="decode"` derives the incremental decoder of an MLIR
    Seq2Seq (packages get theirs when their decoder allows). `target` is
    "cpu" or "cuda" (a CUDA library builds without a GPU)."""
    models = [path] + ([decoder] if decoder else [])
    for p in models:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"convc.compile: no such model file: '{p}'")
    if output is not None:
        if any(os.path.exists(output) and os.path.samefile(output, p) for p in models):
            raise ValueError(f"convc.compile: the output '{os.fspath(output)}' is a model "
                             "file: give another output")
        folder = os.path.dirname(os.fspath(output)) or "."
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"convc.compile: no such directory for the output: "
                                    f"'{folder}'")
    # With `output`, the native side renames a copy of its own over it
    # (writing into the old file would change a library a Module may have
    # loaded); with the cache off, it keeps the library before the
    # compiler's temporary directory goes.
    library, _cached = _convc.compile(os.fspath(path), os.fspath(decoder or ""),
                                      decode_step or "", target, gpu_arch,
                                      cuda_path, cache_dir, mcpu,
                                      os.fspath(output) if output is not None else "")
    return library


class Module:
    """A compiled module: `entries` (names, inputs and outputs with dtypes
    and dims, symbolic ones as names) and `run(entry, **arrays)`."""

    def __init__(self, path, device="cpu", threads=None):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"convc.Module: no such library: '{path}'")
        self._m = _convc.Module(os.fspath(path), _thread_count(threads))
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device is 'cpu' or 'cuda', not '{device}'")
        if self._m.device != device:
            raise ValueError(f"'{path}' was compiled for {self._m.device}, not {device} "
                             f"(convc.compile(..., target='{device}'))")
        self.path, self.device = os.fspath(path), device

    @property
    def entries(self):
        return self._m.entries

    def signature(self, entry="main"):
        for e in self._m.entries:
            if e["name"] == entry:
                return e
        raise ValueError(f"no entry point '{entry}' (the module has: "
                         f"{', '.join(e['name'] for e in self._m.entries)})")

    def run(self, entry="main", inputs=None, /, outputs_on="cpu", **arrays):
        """Runs `entry` on the named arrays (keywords, or a dict `inputs`
        for names that are not Python identifiers or clash with these
        parameters); a dict of outputs by name.
        C-contiguous numpy inputs of the entry's dtype are not copied, and
        numpy outputs are arrays over the module's own buffers. On a CUDA
        module an input may be GPU memory (a DeviceArray, a PyTorch CUDA
        tensor, anything with __cuda_array_interface__), read where it is;
        with outputs_on="cuda" the outputs stay on the GPU as DeviceArrays
        (torch.as_tensor(a, device="cuda") shares them; a.numpy() copies)."""
        if inputs is not None:
            if not isinstance(inputs, dict):
                raise ValueError(f"inputs is a dict of arrays by name, not {type(inputs).__name__}")
            both = inputs.keys() & arrays.keys()
            if both:
                raise ValueError(f"input '{sorted(both)[0]}' is given twice")
            arrays = {**inputs, **arrays}
        if outputs_on not in ("cpu", "cuda"):
            raise ValueError(f"outputs_on is 'cpu' or 'cuda', not {outputs_on!r}")
        return self._m.run(entry, arrays, outputs_on)


class TranslationResult:
    """CTranslate2's result: `hypotheses` (token lists, or strings with a
    dictionary) best first, and `scores` when asked for."""

    def __init__(self, hypotheses, scores):
        self.hypotheses, self.scores = hypotheses, scores

    def __repr__(self):
        return f"TranslationResult(hypotheses={self.hypotheses!r}, scores={self.scores!r})"


class Translator:
    """A compiled Seq2Seq module (entries encode, decode_init, decode_step;
    or encode and decode) and CTranslate2's `translate_batch` over it.

    With `dictionary` (a fairseq dict.txt: "word count" per line, ids from 4
    after <s> <pad> </s> <unk>) sources and hypotheses may be strings of
    words; with `sentencepiece` (a .model file) too, as text.

    `parameters` gives a module that takes weights as inputs (an ONNX
    export with export_params=False, convc generate's --params) its
    weights: a dict of name to array, or a folder of NAME.npy files."""

    def __init__(self, path, device="cpu", threads=None, dictionary=None, sentencepiece=None,
                 parameters=None):
        self.module = Module(path, device, threads)
        self.parameters = _read_parameters(parameters)
        self.vocabulary = _read_fairseq_dictionary(dictionary) if dictionary else None
        self.index = {w: i for i, w in enumerate(self.vocabulary)} if self.vocabulary else None
        self.sp = None
        if sentencepiece:
            import sentencepiece as spm
            self.sp = spm.SentencePieceProcessor(model_file=os.fspath(sentencepiece))

    def _encode(self, source, what="source"):
        if not isinstance(source, str):
            return _token_ids(source, what)
        if self.index is None:
            raise ValueError("string sources need a dictionary: "
                             "convc.Translator(path, dictionary='dict.txt')")
        words = self.sp.encode(source, out_type=str) if self.sp else source.split()
        unk = self.index["<unk>"]
        return [self.index.get(w, unk) for w in words] + [self.index["</s>"]]

    def _special(self, given, word, name):
        """An eos or pad id: the one given, else the dictionary's, else
        None (the runtime's fairseq defaults, 2 and 1)."""
        if given is not None:
            return _token_ids([given], name)[0]
        return self.index.get(word) if self.index else None

    def _decode(self, tokens, as_text):
        if not as_text:
            return list(tokens)
        words = [self.vocabulary[t] if 0 <= t < len(self.vocabulary) else "<unk>"
                 for t in tokens]
        return self.sp.decode(words) if self.sp else " ".join(words)

    def translate_batch(self, sources, beam_size=1, num_hypotheses=1, length_penalty=1.0,
                        max_decoding_length=256, min_decoding_length=0, sampling_topk=1,
                        sampling_topp=1.0, sampling_temperature=1.0, seed=None,
                        repetition_penalty=1.0, no_repeat_ngram_size=0, return_scores=False,
                        max_batch_size=0, batch_type="examples", target_prefix=None,
                        start_token=None, end_token=None, pad_token=None):
        """Translates `sources` (token lists, or strings with a dictionary);
        one TranslationResult per source, in order. The options are
        CTranslate2's; `target_prefix` (one list per source, or None) forces
        each hypothesis' start; `start_token` is the decoder's first token
        (default: eos, as fairseq)."""
        if isinstance(sources, (str, bytes)) or not hasattr(sources, "__len__"):
            raise ValueError("sources is a list of token lists or strings")
        as_text = any(isinstance(s, str) for s in sources)
        encoded = [self._encode(s, f"source {i}") for i, s in enumerate(sources)]
        for name, value in (("beam_size", beam_size), ("num_hypotheses", num_hypotheses),
                            ("sampling_topk", sampling_topk), ("max_batch_size", max_batch_size),
                            ("max_decoding_length", max_decoding_length),
                            ("min_decoding_length", min_decoding_length),
                            ("no_repeat_ngram_size", no_repeat_ngram_size)):
            if isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name} is a count, not {value!r}")
        options = dict(beam_size=beam_size, num_hypotheses=num_hypotheses,
                       length_penalty=length_penalty, max_decoding_length=max_decoding_length,
                       min_decoding_length=min_decoding_length, sampling_topk=sampling_topk,
                       sampling_topp=sampling_topp, sampling_temperature=sampling_temperature,
                       seed=seed, repetition_penalty=repetition_penalty,
                       no_repeat_ngram_size=no_repeat_ngram_size, max_batch_size=max_batch_size,
                       batch_type=batch_type,
                       start_token=None if start_token is None
                       else _token_ids([start_token], "start_token")[0],
                       eos=self._special(end_token, "</s>", "end_token"),
                       pad=self._special(pad_token, "<pad>", "pad_token"),
                       parameters=self.parameters)
        if target_prefix is not None:
            if len(target_prefix) != len(sources):
                raise ValueError("target_prefix needs one entry per source")
            prefixes = [self._encode(p)[:-1] if isinstance(p, str)
                        else _token_ids(p or [], f"target_prefix {i}")
                        for i, p in enumerate(target_prefix)]
            options["target_prefix"] = prefixes
        results = _convc.generate(self.module._m, encoded, options)
        return [TranslationResult([self._decode(t, as_text) for t, _ in hyps],
                                  [s for _, s in hyps] if return_scores else None)
                for hyps in results]


def _read_parameters(parameters):
    """Weights by name: a dict's items, or each NAME.npy of a folder (its
    other files are not read, as convc generate --params)."""
    if parameters is None:
        return None
    if isinstance(parameters, (str, os.PathLike)):
        folder = os.fspath(parameters)
        if not os.path.isdir(folder):
            raise ValueError(f"parameters: '{folder}' is not a folder of NAME.npy files")
        return {name[:-4]: np.load(os.path.join(folder, name))
                for name in sorted(os.listdir(folder)) if name.endswith(".npy")}
    if not isinstance(parameters, dict) or not all(isinstance(k, str) for k in parameters):
        raise ValueError("parameters is a dict of name to array, or a folder of NAME.npy files")
    return dict(parameters)


def _thread_count(threads):
    """`threads` as the native count (0: all cores): an integer (not a
    float, which would be truncated, nor a bool) in [0, 2^31)."""
    if threads is None:
        return 0
    try:
        if isinstance(threads, (bool, np.bool_)):
            raise TypeError
        count = operator.index(threads)
    except TypeError:
        raise ValueError(f"threads is a count of threads (or None for all cores), "
                         f"not {threads!r}") from None
    if not 0 <= count < 2**31:
        raise ValueError(f"threads is a count of threads (or None for all cores), not {count}")
    return count


def _token_ids(tokens, what):
    """`tokens` as a list of Python ints: each an integer (Python's or
    numpy's; not a float, which would be truncated) that fits int64."""
    if isinstance(tokens, (bytes, dict)) or not hasattr(tokens, "__iter__"):
        raise ValueError(f"{what} is not a list of token ids: {tokens!r}")
    ids = []
    for position, t in enumerate(tokens):
        try:
            if isinstance(t, (bool, np.bool_)):
                raise TypeError  # True is 1 to operator.index: the pad id
            v = operator.index(t)
        except TypeError:
            raise ValueError(f"{what}, position {position}: {t!r} is not a token id "
                             f"(an integer)") from None
        if not -2**63 <= v < 2**63:
            raise ValueError(f"{what}, position {position}: token id {v} does not fit int64")
        ids.append(v)
    return ids


def _read_fairseq_dictionary(path):
    """fairseq's dict.txt: <s> <pad> </s> <unk> are ids 0-3, then one
    "word count" per line, in id order. A word given twice is an error
    unless its later line ends with the flag #fairseq:overwrite (that line
    takes a new id, which the word then maps to), as fairseq has it."""
    vocabulary = ["<s>", "<pad>", "</s>", "<unk>"]
    seen = set(vocabulary)
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip().rsplit(" ", 1)
            overwrite = len(fields) == 2 and fields[1] == "#fairseq:overwrite"
            if overwrite:
                fields = fields[0].rsplit(" ", 1)
            if len(fields) != 2 or not fields[0] or not fields[1].lstrip("-").isdigit():
                raise ValueError(f"{path}, line {number}: expected 'word count "
                                 f"[#fairseq:overwrite]', got {line.rstrip()!r}")
            word = fields[0]
            if word in seen and not overwrite:
                raise ValueError(f"{path}, line {number}: '{word}' is listed twice (end the "
                                 "later line with #fairseq:overwrite to give it a new id)")
            seen.add(word)
            vocabulary.append(word)
    return vocabulary

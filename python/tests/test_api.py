"""convc's Python API: compile, Module, Translator, errors, no leaks."""
import _thread
import os
import resource  # noqa: F401  (Linux: RSS from /proc below)
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import convc
from conftest import ROOT

LIGHT_LAYER = os.path.join(ROOT, "test", "lit", "tools", "Inputs", "export_light_layer.onnx")
CUDA = os.environ.get("CONVC_CUDA_PATH", "/usr/local/cuda")


def test_compile_uses_the_cache_and_copies_to_output(tmp_path, cache_dir):
    src = os.path.join(ROOT, "examples", "reverse_digits.mlir")
    first = convc.compile(src, cache_dir=cache_dir)
    again = convc.compile(src, cache_dir=cache_dir)
    assert first == again and os.path.isfile(first)
    out = convc.compile(src, output=str(tmp_path / "model.so"), cache_dir=cache_dir)
    assert out == str(tmp_path / "model.so") and os.path.getsize(out) == os.path.getsize(first)


def test_compile_with_the_cache_off_keeps_the_library(tmp_path, monkeypatch):
    """The compiler's temporary directory goes when the call returns: the
    library was returned from it, deleted (and `output=` failed)."""
    src = os.path.join(ROOT, "examples", "reverse_digits.mlir")
    lib = convc.compile(src, cache_dir="off")
    try:
        assert os.path.isabs(lib) and convc.Module(lib).entries
    finally:
        os.remove(lib)
    out = convc.compile(src, cache_dir="off", output=str(tmp_path / "off.so"))
    assert convc.Module(out).entries
    monkeypatch.setenv("CONVC_CACHE_DIR", "relative-cache")
    monkeypatch.chdir(tmp_path)
    lib = convc.compile(src)
    monkeypatch.chdir("/")
    assert lib == str(tmp_path / "relative-cache" / os.path.basename(lib))
    assert convc.Module(lib).entries


def test_threads_compiling_to_one_output_each_leave_a_whole_library(tmp_path, cache_dir):
    """They shared one temporary name: spurious FileNotFoundErrors, and a
    call returned while the output was empty."""
    import threading
    src = os.path.join(ROOT, "examples", "reverse_digits.mlir")
    size = os.path.getsize(convc.compile(src, cache_dir=cache_dir))
    out, problems = str(tmp_path / "shared.so"), []

    def compile_often():
        for _ in range(15):
            try:
                if os.path.getsize(convc.compile(src, output=out, cache_dir=cache_dir)) != size:
                    problems.append("short")
            except Exception as e:  # noqa: BLE001 (any is a failure)
                problems.append(repr(e))
    threads = [threading.Thread(target=compile_often) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == [] and not [f for f in os.listdir(tmp_path) if "partial" in f]


def test_onnx_module_signature_and_run(cache_dir):
    lib = convc.compile(LIGHT_LAYER, cache_dir=cache_dir)
    m = convc.Module(lib)
    sig = m.signature("main")
    (x,) = sig["inputs"]
    assert x["dtype"] == "f32" and x["dims"][2] == 16 and isinstance(x["dims"][0], str)
    # The export's dim_param names, and the output's dims tied to them.
    assert x["dims"] == ["B", "Tx", 16] and sig["outputs"][0]["dims"] == ["B", "Tx", 16]
    a = np.random.default_rng(0).standard_normal((2, 7, 16)).astype(np.float32)
    out = m.run("main", **{x["name"]: a})
    y = out[sig["outputs"][0]["name"]]
    assert y.shape == (2, 7, 16) and y.dtype == np.float32 and np.isfinite(y).all()
    # Outputs are the module's buffers, not copies; equal on a second run.
    assert not y.flags.owndata
    again = m.run("main", **{x["name"]: a})[sig["outputs"][0]["name"]]
    np.testing.assert_array_equal(y, again)
    # A Fortran-ordered or float64 input is converted, with the same result.
    np.testing.assert_allclose(
        m.run("main", **{x["name"]: np.asfortranarray(a.astype(np.float64))})[
            sig["outputs"][0]["name"]], y, rtol=0, atol=0)


def test_outputs_that_are_one_value_are_separate_arrays(tmp_path, cache_dir):
    # A graph returning a value twice (an ONNX output and its Identity): the
    # second was the first's buffer, so changing one in place changed both.
    src = tmp_path / "twice.mlir"
    src.write_text("""
func.func @main(%x: tensor<?x4xf32> {convc.name = "x"}) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %y = arith.addf %x, %x : tensor<?x4xf32>
  return %y, %y : tensor<?x4xf32>, tensor<?x4xf32>
}
""")
    m = convc.Module(convc.compile(src, cache_dir=cache_dir))
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    out = m.run(x=x)
    a, b = (out[o["name"]] for o in m.signature("main")["outputs"])
    assert not np.shares_memory(a, b)
    a += 1
    np.testing.assert_array_equal(b, 2 * x)
    np.testing.assert_array_equal(a, 2 * x + 1)


def test_errors_are_exceptions(reverse_digits, tmp_path):
    m = convc.Module(reverse_digits)
    with pytest.raises(ValueError, match="float32; the entry point takes i64"):
        m.run("encode", src_tokens=np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="needs the input 'src_tokens'"):
        m.run("encode", tokens=np.zeros((1, 3), np.int64))
    with pytest.raises(ValueError, match="has no input named 'extra'"):
        m.run("encode", src_tokens=np.zeros((1, 3), np.int64), extra=np.zeros(1))
    with pytest.raises(ValueError, match="unknown entry point 'nope'"):
        m.run("nope")
    with pytest.raises(ValueError, match="src_tokens"):  # the runtime's rank check
        m.run("encode", src_tokens=np.zeros((3,), np.int64))
    with pytest.raises(FileNotFoundError):
        convc.Module(str(tmp_path / "missing.so"))
    with pytest.raises(FileNotFoundError):
        convc.compile(str(tmp_path / "missing.mlir"))
    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @main(%x: tensor<?xf32>) -> tensor<?xf32> { return %y }\n")
    with pytest.raises(ValueError, match="bad.mlir:1:64: expected"):
        convc.compile(str(bad), cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="compiled for cpu, not cuda"):
        convc.Module(reverse_digits, device="cuda")
    with pytest.raises(ValueError, match="batch_type"):
        convc.Translator(reverse_digits).translate_batch([[5, 2]], batch_type="words")
    with pytest.raises(ValueError, match=r"num_hypotheses must be in \[1, beam\]"):
        convc.Translator(reverse_digits).translate_batch([[5, 2]], num_hypotheses=3)
    # A misspelt input is named beside the missing one.
    with pytest.raises(ValueError, match="it takes no input named 'src_Tokens'"):
        m.run("encode", src_Tokens=np.zeros((1, 3), np.int64))
    # A forced token outside the vocabulary (gave no hypothesis, no error),
    # a beam of millions (ran out of memory), an unknown CPU (LLVM ended the
    # interpreter).
    with pytest.raises(ValueError, match=r"target prefix token 99 is outside the vocabulary"):
        convc.Translator(reverse_digits).translate_batch([[5, 2]], target_prefix=[[99]])
    with pytest.raises(ValueError, match=r"beam_size cannot be 2.0 \(float\)"):
        convc.Translator(reverse_digits).translate_batch([[5, 2]], beam_size=2.0)
    with pytest.raises(ValueError, match=r"seed cannot be -1"):
        convc.Translator(reverse_digits).translate_batch([[5, 2]], seed=-1)
    with pytest.raises(ValueError, match="beam 2147483647 is over 1024"):
        convc.Translator(reverse_digits).translate_batch([[5, 2]], beam_size=2**31 - 1)
    # An infinite temperature or repetition penalty divides scores to 0 or NaN.
    with pytest.raises(ValueError, match="finite temperature > 0"):
        convc.Translator(reverse_digits).translate_batch([[5, 2]], sampling_topk=0,
                                                        sampling_temperature=float("inf"))
    with pytest.raises(ValueError, match="repetition penalty must be finite"):
        convc.Translator(reverse_digits).translate_batch([[5, 2]], repetition_penalty=float("inf"))
    # Token ids: a float was truncated (3.7 -> 3), an id over int64 gave
    # pybind11's overload listing.
    translator = convc.Translator(reverse_digits)
    with pytest.raises(ValueError, match=r"source 1, position 1: 3.7 is not a token id"):
        translator.translate_batch([[5, 2], [5, 3.7]])
    with pytest.raises(ValueError, match=r"source 0, position 0: token id \d+ does not fit int64"):
        translator.translate_batch([[2**70, 2]])
    with pytest.raises(ValueError, match=r"target_prefix 0, position 0: 'a' is not a token id"):
        translator.translate_batch([[5, 2]], target_prefix=[["a"]])
    assert translator.translate_batch([np.array([7, 5, 13, 6, 2])])[0].hypotheses[0] == \
        [6, 13, 5, 7]
    # fairseq's eos and pad, spelled out; then two ids that cannot both be.
    assert translator.translate_batch([[7, 5, 13, 6, 2]], end_token=2, pad_token=1)[0] \
        .hypotheses[0] == [6, 13, 5, 7]
    with pytest.raises(ValueError, match="the eos and pad ids must be distinct"):
        translator.translate_batch([[7, 2]], end_token=2, pad_token=2)
    with pytest.raises(ValueError, match=r"target prefix token 1 \(position 0\) is the pad id"):
        translator.translate_batch([[7, 2]], target_prefix=[[1]])
    # A token outside the embedding in one source of a batch: the encoder's
    # error named no source.
    with pytest.raises(ValueError, match=r"source 1: entry 'encode': token id 99 is out of range"):
        translator.translate_batch([[7, 5, 2], [6, 99, 2], [8, 2]])
    # Were pybind11's "incompatible function arguments", a truncation to 2
    # threads, and True run as token 1 (the pad id).
    with pytest.raises(ValueError, match=r"threads is a count of threads .* not 10000000000"):
        convc.Module(reverse_digits, threads=10**10)
    with pytest.raises(ValueError, match=r"not 2.7"):
        convc.Module(reverse_digits, threads=2.7)
    with pytest.raises(ValueError, match="outputs_on is 'cpu' or 'cuda', not None"):
        translator.module.run("encode", src_tokens=np.array([[7, 2]]), outputs_on=None)
    with pytest.raises(ValueError, match=r"start_token, position 0: True is not a token id"):
        translator.translate_batch([[7, 2]], start_token=True)
    with pytest.raises(ValueError, match="unknown CPU 'bogus'"):
        convc.compile(os.path.join(ROOT, "examples", "reverse_digits.mlir"), mcpu="bogus",
                      cache_dir=str(tmp_path))


def test_integer_inputs_narrow_only_when_values_fit(reverse_digits, tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    table = numpy_helper.from_array(np.arange(10, dtype=np.float32) * 10, "table")

    def one_node(name, node, x, x_type, inits=()):
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(x, x_type, ["N"])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])],
                                  list(inits))
        path = str(tmp_path / f"{name}.onnx")
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
        return convc.Module(convc.compile(path, cache_dir=str(tmp_path)))

    gather = helper.make_node("Gather", ["table", "idx"], ["y"])
    m = one_node("gather_i32", gather, "idx", TensorProto.INT32, [table])
    # int64 ids that fit int32 are converted; read-only arrays are borrowed.
    ids = np.array([3, 2, 9], np.int64)
    ids.setflags(write=False)
    np.testing.assert_array_equal(m.run("main", idx=ids)["y"], [30, 20, 90])
    # 2^32 + 5 would wrap to 5 (index 5, a wrong row) in numpy's cast.
    with pytest.raises(ValueError, match="int64 values that i32"):
        m.run("main", idx=np.array([3, 2**32 + 5], np.int64))
    with pytest.raises(ValueError, match="uint64 values that i32"):
        m.run("main", idx=np.array([2**40], np.uint64))
    # uint64 2^63 wraps to int64 -2^63, which casts back to 2^63: a round
    # trip cannot tell; the range check does.
    m64 = one_node("gather_i64", gather, "idx", TensorProto.INT64, [table])
    np.testing.assert_array_equal(m64.run("main", idx=np.array([1, 9], np.uint64))["y"], [10, 90])
    with pytest.raises(ValueError, match="uint64 values that i64"):
        m64.run("main", idx=np.array([1, 2**63], np.uint64))
    # An empty array has no values to check (numpy's min of it would raise):
    # the runtime's size check speaks.
    with pytest.raises(ValueError, match="dimension 0 is 0"):
        m64.run("main", idx=np.zeros(0, np.uint64))
    # Integers into a float input must be exact: 2^24 + 1 is no float32.
    mf = one_node("square", helper.make_node("Mul", ["x", "x"], ["y"]), "x", TensorProto.FLOAT)
    np.testing.assert_array_equal(mf.run("main", x=np.array([3, -4], np.int64))["y"], [9, 16])
    with pytest.raises(ValueError, match="int64 values that f32"):
        mf.run("main", x=np.array([2**24 + 1], np.int64))
    # Floats narrowed must stay finite: 1e300 in float32 would run as inf.
    np.testing.assert_allclose(mf.run("main", x=np.array([1.5, -2.0]))["y"], [2.25, 4.0])
    with pytest.raises(ValueError, match="float64 values beyond the range of f32"):
        mf.run("main", x=np.array([1.0, 1e300]))
    # A 0-d array is rank 0 whatever its dtype (a float64 scalar converted
    # to float32 was run as shape [1]).
    for scalar in (np.float32(1.5), np.float64(1.5), 1.5):
        with pytest.raises(ValueError, match="expected rank 1"):
            mf.run("main", x=scalar)


def test_bool_inputs_hold_bytes_0_or_1(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    where = helper.make_node("Where", ["m", "a", "b"], ["y"])
    graph = helper.make_graph([where], "g", [
        helper.make_tensor_value_info("m", TensorProto.BOOL, ["N"]),
        helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N"]),
        helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])])
    path = str(tmp_path / "where.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    m = convc.Module(convc.compile(path, cache_dir=str(tmp_path)))
    a, b = np.full(3, 1.0, np.float32), np.full(3, 2.0, np.float32)
    np.testing.assert_array_equal(m.run("main", m=np.array([True, False, True]), a=a, b=b)["y"],
                                  [1, 2, 1])
    # Bytes viewed as bool: NumPy reads 2 as True; compiled code would read
    # its lowest bit (False). Refused, naming the element.
    with pytest.raises(ValueError, match="input 'm': bool element 1 is the byte 2"):
        m.run("main", m=np.array([1, 2, 0], np.uint8).view(np.bool_), a=a, b=b)


@pytest.mark.skipif(not os.path.isfile(os.path.join(CUDA, "nvvm/libdevice/libdevice.10.bc")),
                    reason="no CUDA toolkit here")
def test_a_cuda_module_without_a_gpu(tmp_path):
    lib = convc.compile(os.path.join(ROOT, "examples", "reverse_digits.mlir"), target="cuda",
                        cache_dir=str(tmp_path), cuda_path=CUDA)
    assert os.path.isfile(lib)
    if convc.cuda_status():  # no driver or GPU: loading says why
        with pytest.raises(convc.Error, match="CUDA unavailable"):
            convc.Module(lib, device="cuda")
    else:
        assert convc.Module(lib, device="cuda").device == "cuda"


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_no_leak_over_10000_runs(reverse_digits):
    m = convc.Module(reverse_digits, threads=1)
    tokens = np.array([[7, 5, 13, 6, 2]], np.int64)
    for _ in range(1000):  # warm up: allocator pools, the thread pool
        m.run("encode", src_tokens=tokens)
    before = rss_kib()
    for _ in range(10000):
        m.run("encode", src_tokens=tokens)
    grown = rss_kib() - before
    # One call's outputs are 1.3 KiB: a leak of them would be 13 MiB.
    assert grown < 2048, f"RSS grew by {grown} KiB over 10000 runs"


def reversed_digits(translator, sequences, **options):
    results = translator.translate_batch([[4 + d for d in s] + [2] for s in sequences],
                                         max_decoding_length=16, **options)
    return [[t - 4 for t in r.hypotheses[0]] for r in results]


def test_the_bundled_model_reverses_digits(reverse_digits):
    translator = convc.Translator(reverse_digits)
    greedy = [[3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8], [1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 0, 7]]
    assert reversed_digits(translator, greedy) == [s[::-1] for s in greedy]
    beam = [[9, 8, 7, 6, 5], [4, 4, 2], [5, 0, 5, 0, 5, 0]]
    assert reversed_digits(translator, beam, beam_size=4) == [s[::-1] for s in beam]


def test_strings_through_a_fairseq_dictionary(reverse_digits, digits_dictionary):
    translator = convc.Translator(reverse_digits, dictionary=digits_dictionary)
    (result,) = translator.translate_batch(["3 1 4 1 5"], beam_size=4, return_scores=True)
    assert result.hypotheses[0] == "5 1 4 1 3"
    assert result.scores[0] <= 0
    # Words outside the dictionary are <unk> (id 3), not an error.
    assert len(translator.translate_batch(["3 x 4"])) == 1


def test_fairseq_dictionary_rules(reverse_digits, tmp_path):
    def translator(text):
        path = tmp_path / "dict.txt"
        path.write_text(text)
        return convc.Translator(reverse_digits, dictionary=str(path))

    with pytest.raises(ValueError, match=r"line 3: '1' is listed twice"):
        translator("0 100\n1 100\n1 5\n")
    with pytest.raises(ValueError, match=r"line 2: expected 'word count"):
        translator("0 100\n1\n")
    # The flag gives the word a new id, which it then maps to: "1" is 6 here.
    t = translator("0 100\n1 100\n1 5 #fairseq:overwrite\n")
    assert t.vocabulary[4:] == ["0", "1", "1"] and t.index["1"] == 6


def test_ids_outside_the_vocabulary_are_errors(reverse_digits):
    t = convc.Translator(reverse_digits)
    # The source embedding reads them as zero rows unless checked: an answer
    # with no error, where the ONNX export of the same model refused.
    for bad in (99999, -3, 14):
        with pytest.raises(ValueError, match=f"token id {bad} is out of range"):
            t.translate_batch([[7, 5, bad, 2]])
    with pytest.raises(ValueError, match="start token id 9999 is outside the vocabulary"):
        t.translate_batch([[7, 5, 2]], start_token=9999)


def test_compile_does_not_write_over_the_model(tmp_path):
    model = tmp_path / "block.mlir"
    model.write_text(open(os.path.join(ROOT, "examples", "conv_block.mlir")).read())
    with pytest.raises(ValueError, match="is a model file"):
        convc.compile(str(model), output=str(model))
    assert model.read_text().startswith("//") or "func.func" in model.read_text()
    with pytest.raises(FileNotFoundError, match="no such directory for the output"):
        convc.compile(str(model), output=str(tmp_path / "missing" / "x.so"))


def test_options_keep_their_properties(reverse_digits):
    t = convc.Translator(reverse_digits)
    sources = [[4 + d for d in s] + [2] for s in ([1, 2, 3], [9, 9, 8, 1], [5, 5, 5, 5, 5])]
    greedy = [r.hypotheses for r in t.translate_batch(sources)]
    assert [r.hypotheses for r in t.translate_batch(sources, sampling_topk=1, seed=3)] == greedy
    sampled = [r.hypotheses for r in t.translate_batch(
        sources, sampling_topk=0, sampling_temperature=5.0, seed=11)]
    assert [r.hypotheses for r in t.translate_batch(
        sources, sampling_topk=0, sampling_temperature=5.0, seed=11)] == sampled
    for r in t.translate_batch(sources, no_repeat_ngram_size=1):
        assert len(set(r.hypotheses[0])) == len(r.hypotheses[0])
    nbest = t.translate_batch(sources, beam_size=4, num_hypotheses=4, return_scores=True)
    for r in nbest:
        assert len({tuple(h) for h in r.hypotheses}) == 4
        norm = [s / (len(h) + 1) for h, s in zip(r.hypotheses, r.scores)]
        assert norm == sorted(norm, reverse=True)
    for r in t.translate_batch(sources, min_decoding_length=7, max_decoding_length=7):
        assert len(r.hypotheses[0]) == 7
    prefixed = t.translate_batch(sources, target_prefix=[[6], None, [9, 9]])
    assert prefixed[0].hypotheses[0][:1] == [6] and prefixed[2].hypotheses[0][:2] == [9, 9]
    by_tokens = t.translate_batch(sources, beam_size=2, max_batch_size=8, batch_type="tokens")
    assert [r.hypotheses for r in by_tokens] == [
        r.hypotheses for r in t.translate_batch(sources, beam_size=2)]


def test_text_through_sentencepiece(reverse_digits, tmp_path):
    spm = pytest.importorskip("sentencepiece")
    rng = __import__("random").Random(2)
    corpus = tmp_path / "digits.txt"
    corpus.write_text("".join(" ".join(str(rng.randrange(10)) for _ in range(8)) + "\n"
                              for _ in range(200)))
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(tmp_path / "spm"),
                                   model_type="word", vocab_size=13, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "spm.model"))
    # A fairseq dictionary over the pieces, the digit d at id 4 + d.
    pieces = sp.encode("0 1 2 3 4 5 6 7 8 9", out_type=str)
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("".join(f"{p} 1\n" for p in pieces))
    translator = convc.Translator(reverse_digits, dictionary=str(dictionary),
                                  sentencepiece=str(tmp_path / "spm.model"))
    (result,) = translator.translate_batch(["3 1 4 1 5"], beam_size=4)
    assert result.hypotheses[0] == "5 1 4 1 3"


def test_external_data_beside_the_model_and_in_the_cache_key(tmp_path):
    """Weights saved beside the model (save_as_external_data: every model over
    2 GiB) are read from the model's directory; changing them compiles anew
    (the cache key covers the files the model names)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    x = np.ones((1, 8), np.float32)
    got = []
    for value in (1.0, 2.0):
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["x", "W"], ["y"])], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 8])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 8])],
            [numpy_helper.from_array(np.full((8, 8), value, np.float32), "W")])
        onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
                        str(tmp_path / "m.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="m.data", size_threshold=0)
        lib = convc.compile(str(tmp_path / "m.onnx"), cache_dir=str(tmp_path / "cache"))
        got.append((lib, convc.Module(lib).run("main", x=x)["y"][0, 0]))
    assert got[0][1] == 8.0 and got[1][1] == 16.0 and got[0][0] != got[1][0]


def _weights_as_inputs(tmp_path):
    """The bundled model with its embedding table a graph input "emb" (as
    in an export with export_params=False), and the table."""
    script = os.path.join(ROOT, "test", "lit", "tools", "Inputs", "weights_as_inputs.py")
    path = tmp_path / "weights_as_inputs.mlir"
    subprocess.run([sys.executable, script, os.path.join(ROOT, "examples", "reverse_digits.mlir"),
                    str(path), str(tmp_path)], check=True)
    return str(path), np.load(tmp_path / "emb.npy")


def test_translator_takes_weights_as_parameters(tmp_path, cache_dir, reverse_digits):
    path, emb = _weights_as_inputs(tmp_path)
    lib = convc.compile(path, decode_step="decode", cache_dir=cache_dir)
    sources = [[4 + d for d in (3, 1, 4, 1, 5)] + [2], [4 + 9, 4 + 2, 2]]
    expected = convc.Translator(reverse_digits).translate_batch(sources, beam_size=2)
    expected = [r.hypotheses for r in expected]
    (tmp_path / "notes.txt").write_text("not a weight")
    for parameters in ({"emb": emb}, {"emb": emb.astype(np.float64)}, str(tmp_path),
                       tmp_path):
        got = convc.Translator(lib, parameters=parameters).translate_batch(sources, beam_size=2)
        assert [r.hypotheses for r in got] == expected, type(parameters)
    # Other weights give other translations: the parameter is what runs.
    got = convc.Translator(lib, parameters={"emb": emb[::-1].copy()}).translate_batch(sources)
    assert [r.hypotheses[0] for r in got] != [e[0] for e in expected]
    with pytest.raises(ValueError, match="'emb' .*parameters="):
        convc.Translator(lib).translate_batch(sources)
    with pytest.raises(ValueError, match="parameter 'embed'"):
        convc.Translator(lib, parameters={"emb": emb, "embed": emb}).translate_batch(sources)
    with pytest.raises(ValueError, match="emb"):
        convc.Translator(lib, parameters={"emb": emb.astype(np.complex64)}).translate_batch(
            sources)
    with pytest.raises(ValueError, match="input 'emb': expected shape"):
        convc.Translator(lib, parameters={"emb": emb[:, :32]}).translate_batch(sources)
    with pytest.raises(ValueError, match="not a folder"):
        convc.Translator(lib, parameters=str(tmp_path / "missing"))


def test_ctrl_c_interrupts_translate_batch(reverse_digits):
    """Ctrl-C (here _thread.interrupt_main, which raises it as the signal
    would) stops a long translate_batch at its next step: a
    KeyboardInterrupt soon after, not once the batch is done (about 20 s
    here), and the translator works on."""
    translator = convc.Translator(reverse_digits, threads=1)
    long_job = dict(beam_size=4, max_decoding_length=4000, min_decoding_length=4000)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        translator.translate_batch([[5, 9, 3, 2]] * 64, **long_job)
    timer.join()
    assert time.monotonic() - start < 5
    assert translator.translate_batch([[5, 9, 3, 2]])[0].hypotheses == [[9, 9, 5]]

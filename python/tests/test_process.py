"""What a host process does around modules: fork after running one, load
libraries whose symbols could stand in for each other, load one cut short;
and generation options that once gave wrong results with no error."""
import ctypes
import multiprocessing
import os

import numpy as np
import pytest

import convc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scaled(tmp_path, cache_dir, name, factor):
    """An entry `main` computing x W^T with every weight factor / 64 (ones
    in, factor out); every such module defines the same entry."""
    path = tmp_path / f"{name}.mlir"
    path.write_text(f"""
func.func @main(%x: tensor<?x64xf32> {{convc.name = "x"}}) -> (tensor<?x64xf32> {{convc.name = "y"}}) {{
  %w = arith.constant dense<{factor / 64}> : tensor<64x64xf32>
  %y = convc.linear %x, %w : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}}
""")
    return convc.compile(str(path), output=str(tmp_path / f"{name}.so"), cache_dir=cache_dir)


def exp_entry(tmp_path, cache_dir):
    path = tmp_path / "exp.mlir"
    path.write_text("""
func.func @exp(%x: tensor<?x4xf32> {convc.name = "x"}) -> (tensor<?x4xf32> {convc.name = "y"}) {
  %y = math.exp %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
""")
    return convc.compile(str(path), output=str(tmp_path / "exp.so"), cache_dir=cache_dir)


def test_symbols_of_another_library_do_not_stand_in(tmp_path, cache_dir):
    """A library in the global scope (RTLD_GLOBAL) defining `main` once ran
    in place of a later module's `main`: its numbers, exit code 0. An entry
    named `exp` called libm's exp instead of computing."""
    x = np.ones((2, 64), np.float32)
    first = scaled(tmp_path, cache_dir, "twice", 2)
    ctypes.CDLL(first, mode=ctypes.RTLD_GLOBAL)
    second = scaled(tmp_path, cache_dir, "thrice", 3)
    y = convc.Module(second).run("main", x=x)["y"]
    assert np.array_equal(y, 3 * x), y[0, :4]
    v = np.array([[0.5, 1, 2, 3]], np.float32)
    y = convc.Module(exp_entry(tmp_path, cache_dir)).run("exp", x=v)["y"]
    np.testing.assert_allclose(y, np.exp(v), rtol=1e-6)


def run_in_child(path, queue):
    x = np.ones((4, 64), np.float32)
    queue.put(float(convc.Module(path, threads=2).run("main", x=x)["y"].sum()))


def test_a_forked_child_runs_modules(tmp_path, cache_dir):
    """A child forked after the parent ran a module on several threads
    waited forever for the parent's pool threads, which it does not have."""
    path = scaled(tmp_path, cache_dir, "fork", 2)
    module = convc.Module(path, threads=2)
    module.run("main", x=np.ones((64, 64), np.float32))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=run_in_child, args=(path, queue))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung in the module's parallel loop")
    assert queue.get(timeout=5) == 2 * 4 * 64


def test_a_library_cut_short_is_an_error(tmp_path, cache_dir):
    """dlopen of a truncated library died of SIGBUS."""
    whole = scaled(tmp_path, cache_dir, "whole", 2)
    cut = tmp_path / "cut.so"
    cut.write_bytes(open(whole, "rb").read()[:5000])
    with pytest.raises(convc.Error, match="cut short"):
        convc.Module(str(cut))


def test_low_temperature_sampling_picks_the_likeliest_token(reverse_digits):
    """With eos ruled out by min_decoding_length, the allowed tokens' weights
    underflowed to 0 at a low temperature and the sampler took the last one:
    the least likely token, not greedy's."""
    translator = convc.Translator(reverse_digits)
    source = [[7, 5, 13, 6, 2], [9, 4, 11, 2]]
    greedy = translator.translate_batch(source, max_decoding_length=5, min_decoding_length=5)
    sampled = translator.translate_batch(source, max_decoding_length=5, min_decoding_length=5,
                                         sampling_topk=0, sampling_temperature=0.01, seed=1)
    assert [r.hypotheses for r in sampled] == [r.hypotheses for r in greedy]


def test_generation_options_that_cannot_hold_are_errors(reverse_digits):
    translator = convc.Translator(reverse_digits)
    with pytest.raises(ValueError, match="eos id"):  # a hypothesis ends there
        translator.translate_batch([[7, 5, 2]], target_prefix=[[7, 2, 9]])
    with pytest.raises(ValueError, match="pad id 99 is outside the vocabulary"):
        translator.translate_batch([[7, 5, 2]], pad_token=99)
    with pytest.raises(ValueError, match="no hypothesis meets the options"):
        translator.translate_batch([[7, 5, 2]], no_repeat_ngram_size=1,
                                   min_decoding_length=30, max_decoding_length=30)
    with pytest.raises(ValueError, match="beam_size is a count"):
        translator.translate_batch([[7, 5, 2]], beam_size=True)
    with pytest.raises(ValueError, match="not a token id"):
        translator.translate_batch([[True, 2]])

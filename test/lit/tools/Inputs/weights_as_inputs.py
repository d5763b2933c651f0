"""Writes the bundled reverse_digits.mlir with its embedding table a graph
input "emb" of both functions (after the inputs generation passes), as an
export with export_params=False has it, and the table as FOLDER/emb.npy.

usage: weights_as_inputs.py reverse_digits.mlir OUT.mlir FOLDER"""
import os
import re
import sys

import numpy as np

source, out, folder = sys.argv[1:]
text = open(source).read()
table = re.search(r'    %emb = arith.constant dense<"0x([0-9A-F]+)"> : tensor<14x64xf32>\n', text)
emb = np.frombuffer(bytes.fromhex(table.group(1)), "<f4").reshape(14, 64)
text = text.replace(table.group(0), "")
for last in ('{convc.name = "src_tokens"}', '{convc.name = "enc_pad"}) -> (tensor<?x?x14xf32>'):
    assert last in text, last
    arg, rest = last.split("}", 1)
    text = text.replace(last, arg + '}, %emb: tensor<14x64xf32> {convc.name = "emb"}' + rest, 1)
open(out, "w").write(text)
os.makedirs(folder, exist_ok=True)
np.save(os.path.join(folder, "emb.npy"), emb)

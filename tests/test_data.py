import pandas as pd
import pytest

from readiness.data import read_columns, read_table, sha256_file
from readiness.exceptions import InputError


def test_reads_csv_and_parquet(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.csv", "t.parquet"):
        pd.testing.assert_frame_equal(read_table(tmp_path / name, "golden"), frame, check_dtype=False)
        assert read_columns(tmp_path / name, "golden") == ["a", "b"]


@pytest.mark.parametrize(
    "name,content,expected",
    [
        ("empty.csv", b"", "file is empty"),
        ("header.csv", b"a,b\n", "has a header but no rows"),
        ("blank.csv", b"\n\n", "no columns to read (empty CSV)"),
        ("corrupt.parquet", b"PAR1 this is not parquet at all", "not a readable Parquet file"),
        ("data.xlsx", b"whatever", "unsupported file type '.xlsx'"),
    ],
)
def test_bad_files_give_one_line_naming_the_file(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    for reader in (read_table, read_columns):
        with pytest.raises(InputError) as err:
            reader(path, "golden")
        assert expected in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found; check the 'golden' path"):
        read_table(tmp_path / "nope.csv", "golden")


def test_empty_parquet_is_refused(tmp_path):
    pd.DataFrame({"a": pd.Series([], dtype=float)}).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(InputError, match="has no rows"):
        read_columns(tmp_path / "e.parquet", "golden")


def test_sha256(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert sha256_file(tmp_path / "f") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

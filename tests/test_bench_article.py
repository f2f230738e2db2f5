"""The article's full-scale check left CI for the benchmark suite (bench/article.py); its count of results."""
import configparser
from pathlib import Path

from bench.article import summary_counts

ROOT = Path(__file__).resolve().parent.parent


def test_pytest_summary_line_is_counted():
    assert summary_counts("===== 5 passed, 1 failed, 2 deselected in 12.34s =====") == {
        "passed": 5, "failed": 1, "deselected": 2}
    assert summary_counts("1 error in 0.5s") == {"error": 1}
    assert summary_counts("no tests ran in 0.01s") == {}


def test_the_default_run_leaves_out_the_full_scale_build():
    ini = configparser.ConfigParser()
    ini.read(ROOT / "pytest.ini")
    assert '-m "not slow"' in ini["pytest"]["addopts"]
    assert "slow" in (ROOT / "tests" / "test_article_figures.py").read_text().split("pytestmark")[1][:40]

from pathlib import Path

from ehrql.isolation import landlock, sandbox


def rules_by_path(policy):
    return {rule.path: rule.rights for rule in policy.rules}


def test_the_study_is_readable_and_the_temporary_directory_writable(tmp_path):
    study, temporary = tmp_path / "study", tmp_path / "tmp"
    study.mkdir()
    temporary.mkdir()
    rules = rules_by_path(
        sandbox.policy(study_directories=[study], temporary_directory=temporary)
    )
    assert rules[str(study)] == landlock.READ
    assert rules[str(temporary)] & landlock.FS_WRITE_FILE
    assert not any(
        rights & landlock.FS_WRITE_FILE
        for path, rights in rules.items()
        if path not in (str(temporary), "/dev/null")
    )
    assert str(tmp_path) not in rules


def test_a_database_inside_the_study_is_left_out(tmp_path):
    study = tmp_path / "study"
    (study / "data").mkdir(parents=True)
    (study / "data" / "tpp.duckdb").write_text("")
    (study / "data" / "tpp.duckdb.wal").write_text("")
    (study / "data" / "codelist.csv").write_text("")
    (study / "analysis.py").write_text("")
    rules = rules_by_path(
        sandbox.policy(
            study_directories=[study],
            temporary_directory=tmp_path,
            protected=[study / "data" / "tpp.duckdb"],
        )
    )
    # The directories stay listable, but grant no reading of files beneath them.
    assert rules[str(study)] == landlock.FS_READ_DIR
    assert rules[str(study / "data")] == landlock.FS_READ_DIR
    assert rules[str(study / "analysis.py")] == landlock.READ
    assert rules[str(study / "data" / "codelist.csv")] == landlock.READ
    assert str(study / "data" / "tpp.duckdb") not in rules
    assert str(study / "data" / "tpp.duckdb.wal") not in rules


def test_a_database_directory_that_is_the_study_leaves_nothing_readable(tmp_path):
    rules = rules_by_path(
        sandbox.policy(
            study_directories=[tmp_path],
            temporary_directory=tmp_path / "t",
            protected=[tmp_path],
        )
    )
    assert str(tmp_path) not in rules


def test_the_study_is_the_working_directory_and_the_definitions_own(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path.parent / "elsewhere"
    assert sandbox.study_directories(Path("analysis/dataset_definition.py")) == [
        tmp_path.resolve()
    ]
    assert sandbox.study_directories(elsewhere / "d.py") == [
        tmp_path.resolve(),
        elsewhere.resolve(),
    ]

from sqlalchemy import Engine

from daytwo.storage.tables import trace_payloads


def test_a_json_value_that_is_a_bare_number_reads_back(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            trace_payloads.insert(),
            [{"project_id": 1, "trace_id": "a" * 32, "input": 3, "output": 2.5}],
        )
        row = connection.execute(trace_payloads.select()).one()

    assert (row.input, row.output) == (3, 2.5)

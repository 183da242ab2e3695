"""The web page's JSON API, its guards and escapes, over a real server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import Project
from ui_support import (
    HOSTILE_TAG,
    SECRET,
    Answer,
    Server,
    Stock,
    add_escape_traps,
    end_waiting,
    finish_running,
    queue_waiting,
    start_running,
    stock_store,
)

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Stock:
    made = stock_store(tmp_path_factory.mktemp("ui-api"))
    add_escape_traps(made)
    return made


@pytest.fixture(scope="module")
def server(stock: Stock) -> Iterator[Server]:
    running = Server(stock.project, "--no-browser")
    yield running
    running.stop()


def encoded(query: str) -> str:
    """A query string written plainly, with its values URL-encoded."""
    pairs = [pair.partition("=") for pair in query.split("&") if pair]
    return urlencode([(key, value) for key, _, value in pairs])


def listed(server: Server, query: str = "") -> list[str]:
    answer = server.get(f"/api/experiments?{encoded(query)}")
    assert answer.status == 200, answer.body
    return [row["id"] for row in answer.json()["experiments"]]


def assert_bad_request(answer: Answer, message: str) -> None:
    assert answer.status == 400
    assert message in answer.json()["error"]


# The page and its static files.


def test_page_carries_a_token_and_no_inline_script(server: Server) -> None:
    answer = server.get("/")

    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert re.search(r'name="yanex-token" content="[\w-]{40,}"', answer.text)
    assert not re.search(r"<script(?![^>]*\bsrc=)", answer.text)
    assert "script-src 'self';" in answer.headers["content-security-policy"]
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value


def test_page_loads_nothing_from_other_sites(server: Server) -> None:
    page = server.get("/").text

    assert "http://" not in page and "https://" not in page
    for source in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert source.startswith(("/static/", "data:", "#")), source


@pytest.mark.parametrize(
    "name", ["app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css"]
)
def test_static_files_ship_with_the_package(server: Server, name: str) -> None:
    answer = server.get(f"/static/{name}")

    assert answer.status == 200
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert len(answer.body) > 1000


@pytest.mark.parametrize(
    "path",
    [
        "/static/",
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/static/..%2Fserver.py",
        "/static//etc/passwd",
    ],
)
def test_static_folder_is_neither_listed_nor_left(server: Server, path: str) -> None:
    answer = server.get(path)

    assert answer.status == 404
    assert b"def create_app" not in answer.body
    assert b"root:" not in answer.body
    assert b"app.js" not in answer.body


# The experiments list.


def test_list_returns_newest_first_with_params_and_metrics(
    server: Server, stock: Stock
) -> None:
    data = server.get("/api/experiments").json()

    ids = [row["id"] for row in data["experiments"]]
    assert data["total"] == len(stock.ids) == len(ids)
    assert ids.index(stock.ids["editable"]) < ids.index(stock.ids["files"])
    row = data["experiments"][ids.index(stock.ids["files"])]
    assert row["name"] == "files"
    assert row["status"] == "completed"
    assert row["tags"] == ["grid", "final"]
    assert row["params"] == {"lr": 0.05, "files": True}
    assert row["metrics"] == {"acc": 0.75, "loss": pytest.approx(1 / 1.25)}


def test_list_cuts_pages_that_add_up_to_the_whole(server: Server) -> None:
    whole = listed(server)

    pages = [listed(server, f"limit=3&offset={start}") for start in (0, 3, 6)]

    assert [i for page in pages for i in page] == whole
    assert server.get("/api/experiments?limit=3").json()["total"] == len(whole)


@pytest.mark.parametrize(
    ("query", "roles"),
    [
        ("status=failed", ["broken"]),
        ("tag=grid&tag=final", ["files"]),
        ("tag=grid,final", ["files"]),
        ("name=swe*", ["sweep0", "sweep1"]),
        ("script=train.py&status=failed", ["broken"]),
        ("where=lr>0.2", ["sweep1"]),
        ("where=lr>=0.1&where=acc<1.5", ["sweep0"]),
        ("where=metrics.acc>1.5", ["sweep1"]),
        ("q=BOLD", ["hostile"]),
        ("q=edit", ["editable"]),
        ("started_before=1 hour ago", []),
    ],
)
def test_list_filters_like_yanex_list(
    server: Server, stock: Stock, query: str, roles: list[str]
) -> None:
    assert sorted(listed(server, query)) == sorted(stock.ids[r] for r in roles)


def test_list_filters_by_sweep_prefix(server: Server, stock: Stock) -> None:
    sweep = stock.project.metadata(stock.project.store / stock.ids["sweep0"])["sweep"]

    found = listed(server, f"sweep={sweep['id'][:4]}")

    assert sorted(found) == sorted(stock.sweep_ids())


def test_list_filters_by_start_date(server: Server, stock: Stock) -> None:
    assert len(listed(server, "started_after=1 hour ago")) == len(stock.ids)
    assert listed(server, "started_after=now") == []


def test_list_sorts_by_a_final_metric(server: Server, stock: Stock) -> None:
    data = server.get("/api/experiments?sort=metrics.acc&desc=1").json()

    acc = [row["metrics"].get("acc") for row in data["experiments"]]
    assert acc[0] == pytest.approx(2.0)
    assert acc == sorted(acc, reverse=True)


def test_list_sorts_by_a_param_with_missing_values_last(
    server: Server, stock: Stock
) -> None:
    data = server.get("/api/experiments?sort=params.lr").json()

    lrs = [row["params"].get("lr") for row in data["experiments"]]
    assert lrs[:3] == [0.05, 0.1, 0.3]
    assert set(lrs[3:]) == {None}


def test_list_sorts_by_a_column(server: Server) -> None:
    data = server.get("/api/experiments?sort=name&desc=1").json()

    names = [row["name"] for row in data["experiments"]]
    assert names == sorted(names, reverse=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("where=lr", "--where 'lr': expected KEY OP VALUE"),
        (
            "sort=bogus",
            "cannot sort by 'bogus'; use a column, params.KEY or metrics.KEY",
        ),
        ("sort=params.", "cannot sort by 'params.'"),
        ("limit=0", "limit must be between 1 and 1000, not 0"),
        ("limit=many", "limit must be an integer, not 'many'"),
        ("status=sleeping", "unknown status 'sleeping'"),
        ("started_after=whenever", "whenever"),
        ("archived=maybe", "archived must be one of exclude, include, only"),
    ],
)
def test_list_refuses_bad_arguments_with_a_message(
    server: Server, query: str, message: str
) -> None:
    assert_bad_request(server.get(f"/api/experiments?{encoded(query)}"), message)


def test_list_counts_running_experiments(
    server: Server, stock: Stock, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    experiment_id = start_running(stock, gate, name="counted")
    try:
        data = server.get("/api/experiments?status=running").json()
        assert data["running"] == 1
        assert [row["id"] for row in data["experiments"]] == [experiment_id]
    finally:
        finish_running(experiment_id, gate)
    after = server.get("/api/experiments?name=counted").json()
    assert after["running"] == 0
    assert after["queued"] == 0
    assert after["experiments"][0]["status"] == "completed"


def test_list_counts_experiments_waiting_in_a_scheduler(
    server: Server, stock: Stock
) -> None:
    experiment_id = queue_waiting(stock)
    try:
        assert server.get("/api/experiments").json()["queued"] == 1
    finally:
        end_waiting(stock, experiment_id)
    assert server.get("/api/experiments").json()["queued"] == 0


# One experiment.


def test_experiment_shows_records_git_and_artifacts(
    server: Server, stock: Stock
) -> None:
    data = server.get(f"/api/experiments/{stock.ids['files']}").json()

    assert data["id"] == stock.ids["files"]
    assert data["status"] == "completed"
    assert data["exit_code"] == 0
    assert data["params"] == {"lr": 0.05, "files": True}
    assert data["flat_params"] == {"lr": 0.05, "files": True}
    assert data["final_metrics"]["acc"] == pytest.approx(0.75)
    assert data["git"]["branch"] == "main"
    assert len(data["git"]["commit"]) == 40
    assert data["has_patch"] is False
    assert "directory" not in data and "runner" not in data
    shown = {a["name"]: a for a in data["artifacts"]}
    assert sorted(shown) == [
        "nested/deep.txt",
        "notes.txt",
        "page.html",
        "plot.png",
        "summary.json",
        "vector.svg",
        "weights.bin",
    ]
    assert shown["plot.png"]["image"] is True
    assert shown["notes.txt"]["text"] is True
    assert shown["weights.bin"] == {
        "name": "weights.bin",
        "size": 8,
        "image": False,
        "text": False,
    }


def test_experiment_is_found_by_id_prefix(server: Server, stock: Stock) -> None:
    experiment_id = stock.ids["broken"]

    data = server.get(f"/api/experiments/{experiment_id[:6]}").json()

    assert data["id"] == experiment_id
    assert data["status"] == "failed"
    assert data["exit_code"] == 3


def test_unknown_experiment_is_not_found(server: Server) -> None:
    answer = server.get("/api/experiments/ffffffff")

    assert answer.status == 404
    assert answer.json() == {"error": "no experiment has the id or name 'ffffffff'"}
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_link_in_the_store_is_not_an_experiment(server: Server) -> None:
    assert server.get("/api/experiments/deadbeef").status == 404
    assert server.get("/api/experiments/deadbeef/output").status == 404
    assert "deadbeef" not in listed(server)


def test_metrics_give_every_step_in_order(server: Server, stock: Stock) -> None:
    data = server.get(f"/api/experiments/{stock.ids['sweep1']}/metrics").json()

    assert data["names"] == ["acc", "loss"]
    assert [row["step"] for row in data["steps"]] == [0, 1, 2, 3, 4, 5]
    assert data["steps"][5]["metrics"]["acc"] == pytest.approx(2.0)
    assert data["damaged_lines"] == 0


# Output.


def test_output_gives_the_tail_and_where_to_continue(
    server: Server, stock: Stock
) -> None:
    data = server.get(f"/api/experiments/{stock.ids['sweep0']}/output").json()

    assert data["text"] == "trained with lr 0.1\n"
    assert data["offset"] == data["size"] == len(data["text"])
    assert data["truncated"] is False
    assert data["status"] == "completed"


def test_output_of_stderr(server: Server, stock: Stock) -> None:
    path = f"/api/experiments/{stock.ids['sweep0']}/output?stream=stderr"

    assert server.get(path).json()["text"] == "a warning\n"


def test_output_continues_from_an_offset(server: Server, stock: Stock) -> None:
    path = f"/api/experiments/{stock.ids['sweep0']}/output?offset=8"

    assert server.get(path).json()["text"] == "with lr 0.1\n"


def test_output_restarts_when_the_offset_is_past_the_end(
    server: Server, stock: Stock
) -> None:
    path = f"/api/experiments/{stock.ids['sweep0']}/output?offset=100000"

    data = server.get(path).json()

    assert data["reset"] is True
    assert data["text"] == "trained with lr 0.1\n"


def test_output_shows_user_text_as_data(server: Server, stock: Stock) -> None:
    data = server.get(f"/api/experiments/{stock.ids['hostile']}/output").json()

    assert data["text"] == "<script>window.__pwned=2</script> with lr 0.1\n"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("stream=log", "stream must be stdout or stderr, not 'log'"),
        ("offset=-1", "offset must be between 0 and"),
        ("offset=x", "offset must be an integer, not 'x'"),
    ],
)
def test_output_refuses_bad_arguments(
    server: Server, stock: Stock, query: str, message: str
) -> None:
    path = f"/api/experiments/{stock.ids['sweep0']}/output?{query}"

    assert_bad_request(server.get(path), message)


def test_output_of_a_running_experiment_grows(
    server: Server, stock: Stock, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    experiment_id = start_running(stock, gate, name="growing")
    path = f"/api/experiments/{experiment_id}/output"
    try:
        first = server.get(path).json()
        assert first["text"] == "trained with lr 0.1\nwaiting for the gate\n"
        assert first["status"] == "running"
    finally:
        finish_running(experiment_id, gate)
    rest = server.get(f"{path}?offset={first['offset']}").json()
    assert rest["text"].startswith("through the gate\n")
    assert rest["status"] == "completed"


def test_output_linked_outside_the_experiment_is_refused(
    server: Server, stock: Stock
) -> None:
    answer = server.get(f"/api/experiments/{stock.ids['dirty']}/output")

    assert answer.status == 404
    assert SECRET.encode() not in answer.body
    assert "leads outside its directory" in answer.json()["error"]


# The patch of uncommitted work.


def test_patch_of_a_dirty_run_is_a_diff(server: Server, stock: Stock) -> None:
    answer = server.get(f"/api/experiments/{stock.ids['dirty']}/patch")

    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/x-diff")
    assert "+# an uncommitted change" in answer.text
    assert answer.text.startswith("diff --git a/train.py b/train.py")


def test_patch_of_a_clean_run_is_not_found(server: Server, stock: Stock) -> None:
    answer = server.get(f"/api/experiments/{stock.ids['files']}/patch")

    assert answer.status == 404
    assert answer.json() == {"error": f"experiment {stock.ids['files']} has no patch"}


# Artifacts.


def artifact(server: Server, stock: Stock, name: str, role: str = "files") -> str:
    return f"/api/experiments/{stock.ids[role]}/artifacts/{name}"


def test_artifact_downloads_as_an_attachment(server: Server, stock: Stock) -> None:
    answer = server.get(artifact(server, stock, "summary.json"))

    assert answer.status == 200
    assert json.loads(answer.body) == {"lr": 0.05}
    assert answer.headers["content-disposition"].startswith(
        'attachment; filename="summary.json"'
    )


def test_image_artifact_is_shown_inline(server: Server, stock: Stock) -> None:
    answer = server.get(artifact(server, stock, "plot.png"))

    assert answer.status == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["content-disposition"].startswith("inline;")
    assert answer.body.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("name", ["page.html", "vector.svg"])
def test_active_artifacts_are_sandboxed(
    server: Server, stock: Stock, name: str
) -> None:
    answer = server.get(artifact(server, stock, name))

    assert answer.status == 200
    policy = answer.headers["content-security-policy"]
    assert "sandbox" in policy
    assert "default-src 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_html_artifact_is_never_shown_inline(server: Server, stock: Stock) -> None:
    answer = server.get(artifact(server, stock, "page.html"))

    assert answer.headers["content-disposition"].startswith("attachment;")


def test_nested_artifact_is_served(server: Server, stock: Stock) -> None:
    assert server.get(artifact(server, stock, "nested/deep.txt")).text == "deep\n"


def test_text_artifact_preview(server: Server, stock: Stock) -> None:
    answer = server.get(artifact(server, stock, "notes.txt?preview=1"))

    assert answer.json() == {
        "name": "notes.txt",
        "size": 30,
        "text": "first line\nsecond <b>line</b>\n",
        "truncated": False,
    }


def test_binary_artifact_preview_is_refused(server: Server, stock: Stock) -> None:
    answer = server.get(artifact(server, stock, "weights.bin?preview=1"))

    assert answer.status == 400
    assert answer.json() == {"error": "'weights.bin' is binary; download it instead"}


def test_missing_artifact_is_not_found(server: Server, stock: Stock) -> None:
    answer = server.get(artifact(server, stock, "nothing.txt"))

    assert answer.status == 404
    assert answer.json() == {
        "error": f"experiment {stock.ids['files']} has no artifact 'nothing.txt'"
    }


ESCAPES = [
    "../metadata.json",
    "../../deadbeef/metadata.json",
    "..%2Fmetadata.json",
    "..%2f..%2f..%2fsecret.txt",
    "%2e%2e/metadata.json",
    "%2E%2E%2Fmetadata.json",
    "nested/../../metadata.json",
    "nested%2F..%2F..%2Fmetadata.json",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "..%5Cmetadata.json",
    "nested%00.txt",
    "leak.txt",
    "linked/secret.txt",
    "nested",
    "nested/",
    "",
]


@pytest.mark.parametrize("name", ESCAPES)
def test_artifact_requests_cannot_leave_the_artifacts(
    server: Server, stock: Stock, name: str
) -> None:
    for suffix in ("", "?preview=1"):
        answer = server.get(artifact(server, stock, name) + suffix)

        assert answer.status in (400, 404), (name, answer.status)
        assert SECRET.encode() not in answer.body
        assert b"yanex_format" not in answer.body
        assert b"root:" not in answer.body
        assert b"deep.txt" not in answer.body


def test_linked_artifacts_folder_is_refused(server: Server, stock: Stock) -> None:
    answer = server.get(artifact(server, stock, "secret.txt", role="broken"))

    assert answer.status == 400
    assert SECRET.encode() not in answer.body
    listed = server.get(f"/api/experiments/{stock.ids['broken']}").json()
    assert listed["artifacts"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/experiments/../../etc/passwd",
        "/api/experiments/%2e%2e/metrics",
        "/api/experiments/..%2F..%2Fetc/output",
        "/api/experiments/%2Fetc%2Fpasswd/patch",
    ],
)
def test_experiment_ids_cannot_name_paths(server: Server, path: str) -> None:
    answer = server.get(path)

    assert answer.status == 404
    assert b"root:" not in answer.body


# Changing name, description and tags.


def test_update_changes_name_description_and_tags(server: Server, stock: Stock) -> None:
    experiment_id = stock.ids["editable"]
    change = {
        "name": "renamed <i>here</i>",
        "description": "a note",
        "add_tags": ["fresh"],
        "remove_tags": [],
    }

    answer = server.patch(experiment_id, change)

    assert answer.status == 200
    assert answer.json()["name"] == "renamed <i>here</i>"
    metadata = stock.project.metadata(stock.project.store / experiment_id)
    assert metadata["name"] == "renamed <i>here</i>"
    assert metadata["description"] == "a note"
    assert "fresh" in metadata["tags"]
    assert listed(server, "tag=fresh") == [experiment_id]
    removed = server.patch(experiment_id, {"remove_tags": ["fresh"]})
    assert "fresh" not in removed.json()["tags"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Yanex-Token": ""},
        {"X-Yanex-Token": "guessed"},
        {"Origin": ""},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
    ids=["no-token", "wrong-token", "no-origin", "other-origin", "null", "cross"],
)
def test_update_from_anywhere_but_the_page_is_refused(
    server: Server, stock: Stock, headers: dict[str, str]
) -> None:
    experiment_id = stock.ids["editable"]
    before = stock.project.metadata(stock.project.store / experiment_id)

    answer = server.patch(experiment_id, {"name": "hijacked"}, **headers)

    assert answer.status == 403
    assert answer.json() == {"error": "a change must come from the yanex page itself"}
    assert stock.project.metadata(stock.project.store / experiment_id) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the request body is not JSON"),
        (b"[1, 2]", "the request body must be a JSON object"),
        (b'{"status": "completed"}', "cannot change status"),
        (b'{"name": 5}', "name must be a string"),
        (b'{"add_tags": "x"}', "add_tags must be a list of non-empty strings"),
        (b'{"add_tags": [" "]}', "add_tags must be a list of non-empty strings"),
        (b"{" * 70000, "the request body is larger than 65536 bytes"),
    ],
)
def test_update_refuses_malformed_changes(
    server: Server, stock: Stock, body: bytes, message: str
) -> None:
    headers = {
        "Content-Type": "application/json",
        "Origin": f"http://{server.netloc}",
        "X-Yanex-Token": server.token,
    }
    path = f"/api/experiments/{stock.ids['editable']}"

    answer = server.request("PATCH", path, body, headers)

    assert answer.status == 400
    assert answer.json() == {"error": message}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_nothing_else_changes_the_store(
    server: Server, stock: Stock, method: str
) -> None:
    experiment_id = stock.ids["editable"]

    answer = server.request(method, f"/api/experiments/{experiment_id}")

    assert answer.status == 405
    assert (stock.project.store / experiment_id / "metadata.json").is_file()


# Comparing.


def test_compare_shows_differing_params_final_metrics_and_curves(
    server: Server, stock: Stock
) -> None:
    first, second = stock.sweep_ids()

    data = server.get(f"/api/compare?ids={first},{second}").json()

    assert [row["id"] for row in data["experiments"]] == [first, second]
    assert data["param_keys"] == ["lr"]
    assert data["metric_keys"] == ["acc", "loss"]
    assert data["params"][second]["lr"] == 0.3
    assert data["metrics"][second]["acc"] == pytest.approx(2.0)
    assert data["histories"][first]["steps"] == [0, 1, 2, 3, 4, 5]
    assert len(data["histories"][second]["series"]["loss"]) == 6
    assert data["curves_truncated"] is False


def test_compare_a_whole_sweep_in_member_order(server: Server, stock: Stock) -> None:
    sweep = stock.project.metadata(stock.project.store / stock.ids["sweep1"])["sweep"]

    data = server.get(f"/api/compare?sweep={sweep['id']}").json()

    assert [row["id"] for row in data["experiments"]] == stock.sweep_ids()


def test_compare_by_names_and_prefixes(server: Server, stock: Stock) -> None:
    data = server.get(f"/api/compare?ids=broken,{stock.ids['files'][:5]}").json()

    assert [row["id"] for row in data["experiments"]] == [
        stock.ids["broken"],
        stock.ids["files"],
    ]


def test_compare_needs_a_selection(server: Server) -> None:
    answer = server.get("/api/compare")

    assert answer.status == 400
    assert answer.json() == {
        "error": "name experiments with ids=A,B or a sweep with sweep=ID"
    }


def test_compare_of_an_unknown_experiment_is_not_found(server: Server) -> None:
    answer = server.get("/api/compare?ids=nosuchthing")

    assert answer.status == 404
    assert answer.json() == {"error": "no experiment has the id or name 'nosuchthing'"}


# Who may ask.


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example"]
)
def test_foreign_host_names_are_refused(server: Server, host: str) -> None:
    answer = server.get("/api/experiments", Host=host.format(port=server.port))

    assert answer.status == 403
    assert "does not answer for host" in answer.json()["error"]
    assert b"experiments" not in answer.body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]"])
def test_local_host_names_are_answered(server: Server, host: str) -> None:
    answer = server.get("/api/experiments", Host=host.format(port=server.port))

    assert answer.status == 200


def test_unknown_path_is_a_json_404_with_the_headers(server: Server) -> None:
    answer = server.get("/api/nothing")

    assert answer.status == 404
    assert answer.json() == {"error": "Not Found"}
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value


def test_hostile_names_and_tags_come_back_as_plain_data(
    server: Server, stock: Stock
) -> None:
    data = server.get(f"/api/experiments/{stock.ids['hostile']}").json()

    assert data["name"] == '<img src=x onerror="window.__pwned=1">'
    assert data["tags"] == [HOSTILE_TAG]
    assert server.get(f"/api/experiments/{stock.ids['hostile']}").headers[
        "content-type"
    ] == ("application/json")


def test_cross_site_preflight_is_never_granted(server: Server, stock: Stock) -> None:
    answer = server.request(
        "OPTIONS",
        f"/api/experiments/{stock.ids['editable']}",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "x-yanex-token",
        },
    )

    assert answer.status == 405
    assert not any(name.startswith("access-control-") for name in answer.headers)


def test_non_finite_metrics_come_back_as_null(project: Project) -> None:
    project.write(
        "odd.py",
        "import yanex\n"
        "yanex.log_metrics({'gap': float('nan'), 'top': float('inf')}, step=0)\n",
    )
    assert project.yanex("run", "odd.py").returncode == 0
    experiment_id = project.experiment_ids()[0]
    server = Server(project, "--no-browser")
    try:
        listed_row = server.get("/api/experiments").json()["experiments"][0]
        steps = server.get(f"/api/experiments/{experiment_id}/metrics").json()
    finally:
        server.stop()

    assert listed_row["metrics"] == {"gap": None, "top": None}
    assert steps["steps"][0]["metrics"] == {"gap": None, "top": None}

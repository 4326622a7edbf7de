"""The `{% options %}` tag: one escaped <option> per choice, the chosen ones selected."""

from django.template import Context, Template


def render(choices, selected):
    tpl = Template("{% load select_options %}{% options choices selected %}")
    return tpl.render(Context({"choices": choices, "selected": selected}))


def test_marks_the_selected_value_and_escapes_labels():
    html = render([("a", "A & co"), ("b", "<b>")], "b")
    assert html == (
        '<option value="a">A &amp; co</option><option value="b" selected>&lt;b&gt;</option>'
    )


def test_many_selected_values_and_none():
    assert render([("x", "X"), ("y", "Y")], ["x", "y"]).count(" selected") == 2
    assert " selected" not in render([("x", "X")], "")


def test_the_same_as_format_html_join_for_unsafe_safe_and_odd_values():
    from django.utils.html import format_html_join
    from django.utils.safestring import mark_safe

    choices = [
        ('"quoted"', "O'Brien & <co>"),
        (3, mark_safe("<b>kept</b>")),  # already safe: not escaped twice
        (mark_safe("a&amp;b"), None),
    ]
    expected = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((v, mark_safe(" selected") if str(v) == "3" else "", label) for v, label in choices),
    )
    assert render(choices, 3) == str(expected)

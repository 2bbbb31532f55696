"""A card's move buttons: every other column, the arrow pointing to where that column is on the board. Pure."""

from webapp.boards import model


def test_each_column_moves_to_every_other_with_the_arrow_of_its_side():
    order = [status for status, _ in model.COLUMNS]
    assert set(model.MOVES) == set(order)
    for current, moves in model.MOVES.items():
        assert [status for status, _, _ in moves] == [s for s in order if s != current]
        for status, label, arrow in moves:
            assert label == dict(model.COLUMNS)[status]
            assert arrow == ("←" if order.index(status) < order.index(current) else "→")

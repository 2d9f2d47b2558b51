"""Student copies: now in :mod:`nine_utils.course.kit`; these names keep their old import path."""
from .kit import SOLUTION_TAG, execute_student, student_path  # noqa: F401
